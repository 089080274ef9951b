/**
 * The backward of `modelForward`: the same list of layers reversed, every gradient named with
 * a `d` prefix. Returns a new gradient tensor per parameter (nothing accumulates in place);
 * dHidden stays the caller's, dHeadWeight is consumed when tied (summed into the embedding's).
 */
import type { Tensor, TensorOps } from '../backend/tensor-ops.js';
import type { ModelConfig } from './config.js';
import { attentionOptions, type ForwardSaved, ropeOptions } from './forward.js';
import { EMBED, FINAL_NORM, LM_HEAD, layerParamNames } from './params.js';
import { type ModelWeights, weight } from './weights.js';

export type ModelGrads = Map<string, Tensor>;

/**
 * dHidden [N, C] (gradient at the final norm's output) and dHeadWeight [V, C] (from
 * `headBackward`) → a gradient per parameter name. With tied embeddings the head's gradient
 * and the embedding's are summed into model.embed_tokens.weight.
 */
export function modelBackward(
  ops: TensorOps,
  config: ModelConfig,
  w: ModelWeights,
  saved: ForwardSaved,
  dHidden: Tensor,
  dHeadWeight: Tensor,
): ModelGrads {
  const grads: ModelGrads = new Map();
  const { batch } = saved;
  const final = ops.rmsnormBackward(saved.xFinal, weight(w, FINAL_NORM), saved.rstdFinal, dHidden);
  grads.set(FINAL_NORM, final.dWeight);
  let dx = final.dInput; // [N, C] gradient of the residual stream

  for (let l = config.numLayers - 1; l >= 0; l--) {
    const a = saved.layers[l];
    const n = layerParamNames(l);
    // intermediate gradients of this layer, freed at its end
    const scratch: Tensor[] = [dx];
    const tmp = (t: Tensor) => {
      scratch.push(t);
      return t;
    };
    const linearBackward = (
      dy: Tensor,
      input: Tensor,
      wName: string,
      bName?: string | false,
    ): Tensor => {
      grads.set(wName, ops.matmul(dy, input, { transA: true })); // dW [out, in] = dyᵀ · input
      if (bName) grads.set(bName, ops.sumRows(dy));
      return tmp(ops.matmul(dy, weight(w, wName))); // dInput [N, in] = dy · W
    };

    // MLP block: x2 = x1 + down(silu(gate(ln2)) · up(ln2))
    const dAct = linearBackward(dx, a.act, n.downWeight); // [N, F]
    const { dGate, dUp } = ops.swigluBackward(a.gate, a.up, dAct);
    tmp(dGate);
    tmp(dUp);
    const dLn2 = tmp(
      ops.add(linearBackward(dGate, a.ln2, n.gateWeight), linearBackward(dUp, a.ln2, n.upWeight)),
    );
    const post = ops.rmsnormBackward(a.x1, weight(w, n.postNorm), a.rstd2, dLn2);
    grads.set(n.postNorm, post.dWeight);
    const dx1 = tmp(ops.add(dx, tmp(post.dInput))); // [N, C]

    // attention block: x1 = x + o(attention(rope(q(ln1)), rope(k(ln1)), v(ln1)))
    const dAtt = linearBackward(dx1, a.att, n.oWeight, config.oBias && n.oBias); // [N, H·D]
    const opts = attentionOptions(config, 0);
    const { dq, dk, dv } = ops.attentionBackward(
      a.q,
      a.k,
      a.v,
      batch.keyMask,
      a.att,
      a.lse,
      dAtt,
      opts,
    );
    const dqLinear = tmp(
      ops.ropeBackward(tmp(dq), batch.positions, ropeOptions(config, config.numHeads)),
    );
    const dkLinear = tmp(
      ops.ropeBackward(tmp(dk), batch.positions, ropeOptions(config, config.numKvHeads)),
    );
    tmp(dv);
    const dLn1 = tmp(
      ops.add(
        tmp(
          ops.add(
            linearBackward(dqLinear, a.ln1, n.qWeight, config.qkvBias && n.qBias),
            linearBackward(dkLinear, a.ln1, n.kWeight, config.qkvBias && n.kBias),
          ),
        ),
        linearBackward(dv, a.ln1, n.vWeight, config.qkvBias && n.vBias),
      ),
    );
    const input = ops.rmsnormBackward(a.x, weight(w, n.inputNorm), a.rstd1, dLn1);
    grads.set(n.inputNorm, input.dWeight);
    dx = ops.add(dx1, tmp(input.dInput));
    for (const t of scratch) ops.dispose(t);
  }

  const dEmbed = ops.embeddingBackward(batch.ids, dx, config.vocabSize); // [V, C]
  ops.dispose(dx);
  if (config.tieWordEmbeddings) {
    grads.set(EMBED, ops.add(dEmbed, dHeadWeight));
    ops.dispose(dEmbed);
    ops.dispose(dHeadWeight);
  } else {
    grads.set(EMBED, dEmbed);
    grads.set(LM_HEAD, dHeadWeight);
  }
  return grads;
}
