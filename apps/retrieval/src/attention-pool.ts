import { MultiHeadAttention } from '@polymodal/attention';
import { Linear, Module, normal_ } from '@polymodal/nn';
import { checkPositiveInt, type Generator, scope, type Tensor, zeros } from '@polymodal/tensor';

/**
 * Attention pooling into slots: `queries` learned vectors attend to a sequence (multi-head
 * attention), and their outputs, concatenated, are projected — `[B, N, d] → [B, outDim]`. Unlike a
 * mean over the cells, each query can pick out one object (these scenes' objects have distinct
 * colours), so the embedding keeps which shape, size and place goes with which colour (the
 * "set-to-vector" pooling of the Set Transformer's PMA, Lee et al. 2019, followed by a flatten).
 *
 * ```ts
 * const pool = new AttentionPool(64, 4, 8, 64, generator);
 * pool.forward(cells).shape; // [B, 64]
 * ```
 */
export class AttentionPool extends Module {
  readonly queries: Tensor;
  readonly attention: MultiHeadAttention;
  readonly projection: Linear;

  constructor(dModel: number, numHeads: number, queries: number, outDim: number, generator: Generator) {
    super();
    checkPositiveInt('AttentionPool', 'queries', queries);
    this.queries = this.registerParameter('queries', zeros([queries, dModel]))!;
    normal_(this.queries, 0, 0.02, { generator });
    this.attention = this.registerModule(
      'attention',
      new MultiHeadAttention(dModel, numHeads, { generator }),
    );
    this.projection = this.registerModule('projection', new Linear(queries * dModel, outDim, { generator }));
  }

  /** `sequence [B, N, d]` → `[B, outDim]`. */
  override forward(sequence: Tensor): Tensor {
    return scope(() => {
      const [b] = sequence.shape as [number];
      const [q, d] = this.queries.shape as [number, number];
      const query = this.queries.unsqueeze(0).expand(b, q, d);
      const { output } = this.attention.forward(query, sequence, sequence, { needWeights: false });
      return this.projection.forward(output.reshape([b, q * d]));
    });
  }
}
