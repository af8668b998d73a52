import { generatorFrom, type Linear, type ModuleDict } from '@polymodal/nn';
import { checkPositiveInt, scope, type Tensor } from '@polymodal/tensor';
import {
  type FusionBaseOptions,
  type FusionInputs,
  type FusionMasks,
  FusionModule,
  type FusionOutput,
} from './fusion-module.js';
import { modalityProjections } from './projections.js';

export interface ElementwiseFusionOptions extends FusionBaseOptions {
  /** Width every modality is projected to, and of the fused output. */
  outputDim: number;
}

/**
 * The shared body of the feature-level fusions that project each modality to `outputDim` and
 * fold the projections elementwise (`SumFusion`, `ProductFusion`): subclasses name the fold.
 */
export abstract class ElementwiseFusion extends FusionModule {
  readonly inputKind = 'pooled';
  readonly outputDim: number;
  readonly projections: ModuleDict<Linear>;

  constructor(op: string, options: ElementwiseFusionOptions) {
    super(options.inputDims);
    this.outputDim = checkPositiveInt(op, 'outputDim', options.outputDim);
    this.projections = this.registerModule(
      'projections',
      modalityProjections(this.modalities, this.inputDims, this.outputDim, generatorFrom(options)),
    );
  }

  /** Combines two projected modalities. */
  protected abstract combine(a: Tensor, b: Tensor): Tensor;

  forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput {
    const { tensors } = this.checkInputs(inputs, masks);
    return {
      fused: scope(() =>
        tensors
          .map((x, i) => this.projections.get(this.modalities[i]!).forward(x))
          .reduce((a: Tensor, b: Tensor) => this.combine(a, b)),
      ),
    };
  }
}
