/**
 * SentencePiece-compatible ALBERT tokenization (`tokenizer.json` and `spiece.model`).
 * @module
 */
export * from './tokenizer.js';
export { albertPreprocess, spmNormalize, hfNormalizer, type SpmNormalizerSpec, type TextStep } from './normalize.js';
export { decodeSentencePieceModel, type SentencePieceModel } from './spiece.js';
export { unigramModel, PieceType, type UnigramModel, type UnigramVocab, type UnigramSemantics } from './unigram.js';
export { parseCharsmap, normalizeHuggingFace, normalizeSentencePiece, type Charsmap } from './charsmap.js';
