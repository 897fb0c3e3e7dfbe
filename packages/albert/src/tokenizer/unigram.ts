/**
 * Unigram-LM segmentation: the Viterbi best path over all vocabulary pieces that match the text,
 * with the exact scoring and tie-breaking of the two references (see {@link UnigramSemantics}).
 *
 * Why not a library: the npm options were checked. `tokenizers` (Hugging Face's Rust binding) is a
 * 28 MB native addon with an async-only `encode` and only reads `tokenizer.json`;
 * `@huggingface/tokenizers` (pure JS) approximates the `Precompiled` normaliser with regexes and
 * NFKC instead of the charsmap, so its ids differ from the reference on control characters,
 * whitespace variants and other charsmap entries; `@sctg/sentencepiece-js` is an encode-only
 * emscripten build that reads no `tokenizer.json` and bundles 4 MB of unrelated models. Unigram
 * Viterbi is ~100 lines, so it is written here and proved equal to both references by the
 * committed fixtures.
 * @module
 */

/**
 * SentencePiece piece types (`ModelProto.SentencePiece.Type`).
 * @example
 * sentencePieceModel.types[4] === PieceType.control; // [MASK]
 */
export const PieceType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;
/** One of the {@link PieceType} values. */
export type PieceType = (typeof PieceType)[keyof typeof PieceType];

/**
 * Whose lattice rules to follow:
 * - `sentencepiece`: only normal, user-defined (and unused, never chosen) pieces are matchable; scores
 *   accumulate in float32; a user-defined piece scores `bytes * maxNormalScore - 0.1`; the unknown
 *   penalty is `minNormalScore - 10`.
 * - `huggingface`: every vocabulary entry is matchable with its score; float64 sums; the unknown
 *   penalty is `min(all scores) - 10`.
 * Both fuse runs of unknown characters into one unknown token.
 * @example
 * unigramModel(vocab, 'sentencepiece'); // or 'huggingface'
 */
export type UnigramSemantics = 'sentencepiece' | 'huggingface';

/**
 * A unigram vocabulary: pieces in id order with their scores and types.
 * @example
 * const v: UnigramVocab = { pieces: ['<unk>', '▁a'], scores: [0, -1], types: [PieceType.unknown, PieceType.normal], unkId: 0 };
 */
export interface UnigramVocab {
  readonly pieces: readonly string[];
  readonly scores: readonly number[];
  readonly types: readonly PieceType[];
  readonly unkId: number;
}

interface Node {
  next: Map<number, Node> | undefined;
  id: number;
}

/**
 * A compiled unigram model: `encode` maps normalised text (with `▁` for spaces) to ids.
 * @example
 * unigramModel(v, 'huggingface').encode('▁a'); // [1]
 */
export interface UnigramModel {
  readonly vocab: UnigramVocab;
  readonly semantics: UnigramSemantics;
  /** Viterbi segmentation of one normalised string into ids (runs of unknowns fused). */
  readonly encode: (text: string) => number[];
  /** The id of a piece, if it is in the vocabulary. */
  readonly pieceToId: (piece: string) => number | undefined;
}

const utf8Length = (s: string): number => {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
};

/**
 * Compiles a vocabulary into a Viterbi segmenter.
 * @example
 * const m = unigramModel({ pieces: ['<unk>', '▁a', 'b'], scores: [0, -1, -2], types: [2, 1, 1], unkId: 0 }, 'huggingface');
 * m.encode('▁ab'); // [1, 2]
 */
export const unigramModel = (vocab: UnigramVocab, semantics: UnigramSemantics): UnigramModel => {
  const spm = semantics === 'sentencepiece';
  const root: Node = { next: undefined, id: -1 };
  const ids = new Map<string, number>();
  let minScore = Infinity;
  let maxScore = -Infinity;
  const scores = new Float64Array(vocab.pieces.length);
  const userBonus = new Float64Array(vocab.pieces.length);
  vocab.pieces.forEach((piece, id) => {
    const type = vocab.types[id] ?? PieceType.normal;
    const score = spm ? Math.fround(vocab.scores[id] ?? 0) : (vocab.scores[id] ?? 0);
    scores[id] = score;
    if (spm ? type === PieceType.normal : true) {
      minScore = Math.min(minScore, score);
      maxScore = Math.max(maxScore, score);
    }
    const matchable = !spm || type === PieceType.normal || type === PieceType.userDefined || type === PieceType.unused;
    if (spm && ids.has(piece)) return; // sentencepiece keeps the first; Hugging Face's map keeps the last
    ids.set(piece, id);
    if (!matchable || piece === '') return;
    let node = root;
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i);
      node.next ??= new Map();
      let child = node.next.get(c);
      if (child === undefined) {
        child = { next: undefined, id: -1 };
        node.next.set(c, child);
      }
      node = child;
    }
    node.id = id;
  });
  if (spm) {
    vocab.pieces.forEach((piece, id) => {
      if (vocab.types[id] === PieceType.userDefined) userBonus[id] = Math.fround(utf8Length(piece) * maxScore) - 0.1;
    });
  }
  if (!Number.isFinite(minScore)) minScore = 0;
  const unkScore = spm ? Math.fround(minScore - 10) : minScore - 10;
  const isUnused = (id: number): boolean => spm && vocab.types[id] === PieceType.unused;
  const isUser = (id: number): boolean => spm && vocab.types[id] === PieceType.userDefined;
  const unkId = vocab.unkId;

  const encode = (text: string): number[] => {
    const n = text.length;
    if (n === 0) return [];
    const bestScore = new Float64Array(n + 1);
    const startsAt = new Int32Array(n + 1).fill(-1);
    const nodeId = new Int32Array(n + 1).fill(-1);
    for (let s = 0; s < n; ) {
      const here = bestScore[s] as number;
      const c0 = text.charCodeAt(s);
      const mblen = c0 >= 0xd800 && c0 <= 0xdbff && s + 1 < n ? 2 : 1;
      let hasSingle = false;
      let node: Node | undefined = root;
      for (let k = s; k < n; k++) {
        node = node.next?.get(text.charCodeAt(k));
        if (node === undefined) break;
        const id = node.id;
        if (id < 0 || isUnused(id)) continue;
        const end = k + 1;
        let cand: number;
        if (spm) cand = isUser(id) ? (userBonus[id] as number) + here : Math.fround((scores[id] as number) + here);
        else cand = (scores[id] as number) + here;
        if (startsAt[end] === -1 || cand > (bestScore[end] as number)) {
          bestScore[end] = spm ? Math.fround(cand) : cand;
          startsAt[end] = s;
          nodeId[end] = id;
        }
        if (end - s === mblen) hasSingle = true;
      }
      if (!hasSingle && unkId >= 0) {
        const end = s + mblen;
        const cand = spm ? Math.fround(unkScore + here) : unkScore + here;
        if (startsAt[end] === -1 || cand > (bestScore[end] as number)) {
          bestScore[end] = cand;
          startsAt[end] = s;
          nodeId[end] = unkId;
        }
      }
      s += mblen;
    }
    const out: number[] = [];
    for (let e = n; e > 0; ) {
      const s = startsAt[e] as number;
      if (s < 0) {
        // unreachable position (no unknown piece in the vocabulary): skip one code unit
        e -= 1;
        continue;
      }
      const id = nodeId[e] as number;
      if (!(id === unkId && out.length > 0 && out[out.length - 1] === unkId)) out.push(id);
      e = s;
    }
    return out.reverse();
  };
  return { vocab, semantics, encode, pieceToId: (p) => ids.get(p) };
};
