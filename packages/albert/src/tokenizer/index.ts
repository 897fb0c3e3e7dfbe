/**
 * SentencePiece-compatible ALBERT tokenization (`tokenizer.json` and `spiece.model`), and GPT-2's
 * byte-level BPE (`vocab.json` + `merges.txt`, {@link loadBpeTokenizer}).
 * @module
 */
export * from './tokenizer.js';
export { albertPreprocess, spmNormalize, hfNormalizer, type SpmNormalizerSpec, type TextStep } from './normalize.js';
export { decodeSentencePieceModel, type SentencePieceModel } from './spiece.js';
export { unigramModel, PieceType, type UnigramModel, type UnigramVocab, type UnigramSemantics } from './unigram.js';
export { parseCharsmap, normalizeHuggingFace, normalizeSentencePiece, type Charsmap } from './charsmap.js';
export { bpeTokenizer, bpeFromTokenizerJson, loadBpeTokenizer, hasBpeFiles, parseVocabJson, parseMerges, bytesToUnicode, GPT2_PRETOKENIZE, END_OF_TEXT, type BpeTokenizer, type BpeOptions } from './bpe.js';
