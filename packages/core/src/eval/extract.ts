// Final-answer extraction from a model's output, in the order of the Qwen2.5-Math harness:
// Minerva's "final answer is $…$. I hope", the last \boxed{…}, "the answer is", "final answer
// is", GSM8K's "####", then the last number. Returns the raw span; `grade` normalises it.

/** Content of the last `\boxed{…}` (or `\fbox{…}`), braces balanced; `\boxed 5` also counts. */
export function lastBoxed(text: string): string | undefined {
  const start = Math.max(text.lastIndexOf('\\boxed'), text.lastIndexOf('\\fbox'));
  if (start < 0) return undefined;
  const i = start + (text.startsWith('\\boxed', start) ? 6 : 5);
  if (text[i] === ' ') {
    // `\boxed 5`: the argument is the next token, up to a space, `$` or end of line.
    const m = /^ +([^\s$]+)/.exec(text.slice(i));
    return m ? m[1] : undefined;
  }
  if (text[i] !== '{') return undefined;
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const c = text[j];
    if (c === '\\') {
      j++; // an escaped brace (`\{`) does not open or close the group
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return text.slice(i + 1, j);
    }
  }
  return undefined; // unbalanced: the output was cut off inside the box
}

/** The text after the last `marker`, up to the end of its line, without a trailing period or `$`s. */
function afterLast(text: string, marker: RegExp): string | undefined {
  let last: RegExpExecArray | undefined;
  const re = new RegExp(marker.source, 'gi');
  for (let m = re.exec(text); m; m = re.exec(text)) last = m;
  if (!last) return undefined;
  const rest = text.slice(last.index + last[0].length);
  const boxed = lastBoxed(rest.split('\n\n')[0]);
  if (boxed !== undefined) return boxed;
  const line = rest.split('\n')[0].trim();
  return stripSentence(line);
}

function stripSentence(s: string): string {
  let out = s.trim().replace(/^[:\s]+/, '');
  out = out.replace(/[.\s]+$/, '');
  // "$\frac12$" or "\(x\)" around the whole answer
  const math =
    /^\$+([^$]*)\$+$/.exec(out) ?? /^\\\((.*)\\\)$/.exec(out) ?? /^\\\[(.*)\\\]$/.exec(out);
  if (math) out = math[1];
  return out.trim().replace(/\.$/, '');
}

const NUMBER = /-?(?:\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)/g;

/** The final answer a model's `output` commits to, or `''` when it commits to none. */
export function extractAnswer(output: string): string {
  const minerva = /final answer is \$(.*?)\$\. I hope/s.exec(output);
  if (minerva) return minerva[1].trim();
  const boxed = lastBoxed(output);
  if (boxed !== undefined) return boxed.trim();
  for (const marker of [/the answer is/, /final answer is/, /####/]) {
    const found = afterLast(output, marker);
    if (found) return found;
  }
  const numbers = output.match(NUMBER);
  return numbers ? numbers[numbers.length - 1].replace(/,/g, '') : '';
}
