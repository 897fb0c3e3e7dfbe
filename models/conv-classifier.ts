// A 1-D convolutional text classifier (Kim, EMNLP 2014): word embeddings, parallel convolutions
// of widths 3, 4 and 5 with ReLU, each max-pooled over the real (unpadded) positions, the pooled
// features concatenated, dropout, and a linear layer to the labels. No attention, no recurrence:
// a strong, fast baseline for sentiment.
//
//   lamina train --model models/conv-classifier.ts --objective classify --train imdb --eval imdb
import { branch, conv1d, dense, dropout, embedding, maxPool, named, seq } from '@lamina/dsl';

export interface ConvClassifierDims {
  vocabSize: number;
  numLabels: number;
  embeddingSize?: number; // default 64
  filters?: number; // feature maps per width, default 64
  widths?: readonly number[]; // default [3, 4, 5]
  dropout?: number; // on the pooled features, default 0.5
}

export const convClassifier = (d: ConvClassifierDims) => {
  const E = d.embeddingSize ?? 64;
  const F = d.filters ?? 64;
  const widths = d.widths ?? [3, 4, 5];
  // one branch per width: [B, S, E] → conv → [B, S, F] → masked max over time → [B, F]
  const convs = widths.map((w) => named(`conv${w}`, seq(conv1d(E, F, w, { padding: 'same', activation: 'relu' }), maxPool())));
  return seq(
    named('embeddings', embedding(d.vocabSize, E, { initStd: 0.1 })),
    branch(convs, 'concat'), // [B, widths · F]
    dropout(d.dropout ?? 0.5),
    named('classifier', dense(widths.length * F, d.numLabels)),
  );
};

// numLabels is 0 for clm/mlm: one output then, so the CLI names the mismatch with the objective
export default ({ vocabSize, numLabels }: { vocabSize: number; numLabels: number }) => convClassifier({ vocabSize, numLabels: Math.max(1, numLabels) });
