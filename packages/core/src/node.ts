// @oneshot-em/core/node: the parts that touch the file system (model, tokenizer and data loading).
