/**
 * TensorFlow.js twin of Polymodal's `TransformerEncoderLayer` (torch's
 * `nn.TransformerEncoderLayer(d, h, dim_feedforward=f, dropout=p, batch_first=True)`): post-norm, ReLU,
 * dropout on the attention weights, after each sub-block and inside the feed-forward block; trained
 * with a hand-written AdamW, since TF.js has none. Used by encoder-step-bench.mjs.
 *
 * Weights load from torch-named arrays (our `namedParameters()`), so the twin starts from exactly
 * our layer's weights. Dense weights are kept as `[in, out]`, so the forward product is a plain
 * `matMul`, the one TF.js's wasm backend sends to XNNPACK. Its autodiff of that product asks for
 * `matMul(dy, w, false, true)` and `matMul(x, dy, true, false)`, which that backend runs on a generic
 * loop about 10× slower; `denseBackward: 'transpose'` gives dense layers a custom gradient that
 * transposes explicitly first, so every large product stays on the fast path.
 */
import * as tf from '@tensorflow/tfjs';

/** The `[B·L, in] × [in, out] + bias` product with an explicit-transpose backward. */
const denseTransposed = tf.customGrad((x, w, b, save) => {
  save([x, w]);
  return {
    value: tf.add(tf.matMul(x, w), b),
    gradFunc: (dy, [xs, ws]) => [
      tf.matMul(dy, tf.transpose(ws)),
      tf.matMul(tf.transpose(xs), dy),
      tf.sum(dy, 0),
    ],
  };
});

/** The same product left to TF.js's autodiff. */
const denseAutodiff = (x, w, b) => tf.add(tf.matMul(x, w), b);

export class TfjsEncoderLayer {
  /**
   * @param {[string, {shape: number[], data: Float32Array}][]} named torch-named parameters
   * @param {{nHead: number, dropout?: number, eps?: number, denseBackward?: 'transpose' | 'autodiff'}} options
   * @param {{lr?: number, weightDecay?: number, betas?: [number, number], eps?: number}} adamw
   *   defaults as our (and torch's) AdamW: lr 1e-3, weight decay 1e-2, betas 0.9/0.999, eps 1e-8
   */
  constructor(named, options, adamw = {}) {
    this.nHead = options.nHead;
    this.p = options.dropout ?? 0.1;
    this.eps = options.eps ?? 1e-5;
    this.denseBackward = options.denseBackward ?? 'transpose';
    this.opt = { lr: 1e-3, weightDecay: 1e-2, betas: [0.9, 0.999], eps: 1e-8, ...adamw };
    // Variables in our parameter order, so vars[0] is the same tensor our step reads back.
    this.vars = {};
    for (const [name, { shape, data }] of named) {
      const t = tf.tensor(data, shape);
      // torch's Linear weight is [out, in]; stored as [in, out] for a plain forward matMul.
      const isDense = shape.length === 2;
      this.vars[name] = tf.variable(isDense ? tf.transpose(t) : t.clone());
      t.dispose();
    }
    this.varList = Object.values(this.vars);
    this.moments = this.varList.map((v) => [tf.variable(tf.zerosLike(v)), tf.variable(tf.zerosLike(v))]);
    this.stepCount = 0;
  }

  /** `x·w + b` with the torch-named weight and bias (`linear1` → `linear1.weight`, `linear1.bias`). */
  dense(x, prefix, [wName, bName] = [`${prefix}.weight`, `${prefix}.bias`]) {
    const [w, b] = [this.vars[wName], this.vars[bName]];
    return this.denseBackward === 'transpose' ? denseTransposed(x, w, b) : denseAutodiff(x, w, b);
  }

  layerNorm(x, prefix) {
    const { mean, variance } = tf.moments(x, -1, true);
    return x
      .sub(mean)
      .mul(tf.rsqrt(variance.add(this.eps)))
      .mul(this.vars[`${prefix}.weight`])
      .add(this.vars[`${prefix}.bias`]);
  }

  drop(x, training) {
    return training && this.p > 0 ? tf.dropout(x, this.p) : x;
  }

  /** `x [B, L, D]` → `[B, L, D]`; call inside `tf.tidy`. */
  forward(x, { training }) {
    const [b, l, d] = x.shape;
    const h = this.nHead;
    const hd = d / h;
    const x2 = x.reshape([b * l, d]);
    // Self-attention: packed q/k/v projection, heads as [B, H, L, hd]. Batched products take the wasm
    // backend's generic loop with or without transposes; a loop of per-head unbatched (XNNPACK) products
    // measured about 4× slower still, so they stay batched.
    const heads = (t) => t.reshape([b, l, h, hd]).transpose([0, 2, 1, 3]);
    const [q, k, v] = tf
      .split(this.dense(x2, '', ['self_attn.in_proj_weight', 'self_attn.in_proj_bias']), 3, 1)
      .map(heads);
    const weights = this.drop(tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(hd))), training);
    const merged = tf
      .matMul(weights, v)
      .transpose([0, 2, 1, 3])
      .reshape([b * l, d]);
    const attn = this.drop(this.dense(merged, 'self_attn.out_proj'), training);
    const y = this.layerNorm(x2.add(attn), 'norm1');
    // Feed-forward: linear2(dropout(relu(linear1(y)))).
    const hidden = this.drop(tf.relu(this.dense(y, 'linear1')), training);
    const ff = this.drop(this.dense(hidden, 'linear2'), training);
    return this.layerNorm(y.add(ff), 'norm2').reshape([b, l, d]);
  }

  /** Decoupled weight decay then the Adam step, in torch.optim.AdamW's order. */
  adamw(grads) {
    const { lr, weightDecay, betas, eps } = this.opt;
    const [b1, b2] = betas;
    const t = ++this.stepCount;
    const stepSize = lr / (1 - b1 ** t);
    const bc2Sqrt = Math.sqrt(1 - b2 ** t);
    this.varList.forEach((p, i) => {
      const g = grads[p.name];
      const [m, v] = this.moments[i];
      p.assign(p.mul(1 - lr * weightDecay));
      m.assign(m.add(g.sub(m).mul(1 - b1)));
      v.assign(v.mul(b2).add(g.square().mul(1 - b2)));
      p.assign(p.sub(m.div(v.sqrt().div(bc2Sqrt).add(eps)).mul(stepSize)));
    });
  }

  /** One training step on `x`: forward, loss `out²` mean, backward, AdamW, one parameter read back. */
  trainStep(x) {
    // tf.tidy returns nothing: a returned typed array would be walked element by element.
    tf.tidy(() => {
      const { grads } = tf.variableGrads(
        () => this.forward(x, { training: true }).square().mean(),
        this.varList,
      );
      this.adamw(grads);
    });
    this.varList[0].dataSync();
  }

  dispose() {
    tf.dispose([...this.varList, ...this.moments.flat()]);
  }
}
