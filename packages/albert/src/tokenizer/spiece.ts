/**
 * Reads a SentencePiece `spiece.model` (a serialized `sentencepiece.ModelProto`) with protobufjs'
 * wire reader: only the fields a unigram encoder needs (pieces, model type, unk id, byte fallback,
 * normaliser spec). Truncated or malformed files come back as an error value.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import pb from 'protobufjs/minimal.js';
import { PieceType } from './unigram.js';

/**
 * The decoded parts of a `spiece.model`.
 * @example
 * const m: SentencePieceModel = E.getOrElseW(fail)(decodeSentencePieceModel(bytes)); m.unkId; // 1 for ALBERT
 */
export interface SentencePieceModel {
  readonly pieces: readonly string[];
  readonly scores: readonly number[];
  readonly types: readonly PieceType[];
  /** TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char. */
  readonly modelType: number;
  readonly unkId: number;
  readonly byteFallback: boolean;
  readonly treatWhitespaceAsSuffix: boolean;
  readonly normalizer: {
    readonly name: string;
    readonly precompiledCharsmap: Uint8Array;
    readonly addDummyPrefix: boolean;
    readonly removeExtraWhitespaces: boolean;
    readonly escapeWhitespaces: boolean;
  };
}

type Reader = pb.Reader;

const WIRE = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

const expectWire = (field: string, got: number, want: number): void => {
  if (got !== want) throw new RangeError(`field ${field} has wire type ${got}, expected ${want}`);
};

const readPiece = (r: Reader, end: number): { piece: string; score: number; type: PieceType } => {
  let piece = '';
  let score = 0;
  let type: PieceType = PieceType.normal;
  while (r.pos < end) {
    const tag = r.uint32();
    const f = tag >>> 3;
    const w = tag & 7;
    if (f === 1) {
      expectWire('SentencePiece.piece', w, WIRE.bytes);
      piece = r.string();
    } else if (f === 2) {
      expectWire('SentencePiece.score', w, WIRE.fixed32);
      score = r.float();
    } else if (f === 3) {
      expectWire('SentencePiece.type', w, WIRE.varint);
      const t = r.int32();
      if (t < 1 || t > 6) throw new RangeError(`unknown piece type ${t}`);
      type = t as PieceType;
    } else r.skipType(w);
  }
  return { piece, score, type };
};

const endOf = (r: Reader): number => {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len) throw new RangeError(`sub-message of ${len} bytes runs past the end of the file`);
  return end;
};

/**
 * Decodes a `spiece.model`. Errors (truncated file, wrong wire types, no pieces, unk id out of
 * range) are returned as `E.left(message)`.
 * @example
 * const m = decodeSentencePieceModel(fs.readFileSync('spiece.model'));
 * if (E.isRight(m)) console.log(m.right.pieces.length, m.right.normalizer.name); // 30000 'nmt_nfkc'
 */
export const decodeSentencePieceModel = (bytes: Uint8Array): E.Either<string, SentencePieceModel> => {
  const pieces: string[] = [];
  const scores: number[] = [];
  const types: PieceType[] = [];
  let modelType = 1;
  let unkId = 0;
  let byteFallback = false;
  let treatWhitespaceAsSuffix = false;
  const norm: { -readonly [K in keyof SentencePieceModel['normalizer']]: SentencePieceModel['normalizer'][K] } = { name: '', precompiledCharsmap: new Uint8Array(0), addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true };
  try {
    const r = pb.Reader.create(bytes);
    while (r.pos < r.len) {
      const tag = r.uint32();
      const f = tag >>> 3;
      const w = tag & 7;
      if (f === 0) throw new RangeError('field number 0');
      if (f === 1) {
        expectWire('ModelProto.pieces', w, WIRE.bytes);
        const p = readPiece(r, endOf(r));
        pieces.push(p.piece);
        scores.push(p.score);
        types.push(p.type);
      } else if (f === 2) {
        expectWire('ModelProto.trainer_spec', w, WIRE.bytes);
        const end = endOf(r);
        while (r.pos < end) {
          const t = r.uint32();
          const tf = t >>> 3;
          const tw = t & 7;
          if (tf === 3 && tw === WIRE.varint) modelType = r.int32();
          else if (tf === 40 && tw === WIRE.varint) unkId = r.int32();
          else if (tf === 35 && tw === WIRE.varint) byteFallback = r.bool();
          else if (tf === 24 && tw === WIRE.varint) treatWhitespaceAsSuffix = r.bool();
          else r.skipType(tw);
        }
      } else if (f === 3) {
        expectWire('ModelProto.normalizer_spec', w, WIRE.bytes);
        const end = endOf(r);
        while (r.pos < end) {
          const t = r.uint32();
          const nf = t >>> 3;
          const nw = t & 7;
          if (nf === 1 && nw === WIRE.bytes) norm.name = r.string();
          else if (nf === 2 && nw === WIRE.bytes) norm.precompiledCharsmap = r.bytes();
          else if (nf === 3 && nw === WIRE.varint) norm.addDummyPrefix = r.bool();
          else if (nf === 4 && nw === WIRE.varint) norm.removeExtraWhitespaces = r.bool();
          else if (nf === 5 && nw === WIRE.varint) norm.escapeWhitespaces = r.bool();
          else r.skipType(nw);
        }
      } else r.skipType(w);
    }
  } catch (e) {
    return E.left(`not a valid SentencePiece model (${(e as Error).message})`);
  }
  if (pieces.length === 0) return E.left('not a valid SentencePiece model (it has no pieces)');
  if (unkId < 0 || unkId >= pieces.length || types[unkId] !== PieceType.unknown) {
    return E.left(`not a valid SentencePiece model (unk_id ${unkId} is not an unknown piece)`);
  }
  return E.right({ pieces, scores, types, modelType, unkId, byteFallback, treatWhitespaceAsSuffix, normalizer: norm });
};
