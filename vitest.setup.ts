// Every test file runs on the backend lamina would pick (native TensorFlow here); a silent pure-JS
// fallback would make the suite ~100x slower and hide a broken install, so it fails instead.
import { selectBackend } from './packages/dsl/src/index.js';

const r = await selectBackend({ warn: () => {} });
if (r._tag === 'Left') throw new Error(r.left.message);
if (!r.right.native && process.env.LAMINA_BACKEND === undefined) {
  throw new Error(`tests need native TensorFlow; got ${r.right.name}: ${r.right.reasons.join('; ')}`);
}
