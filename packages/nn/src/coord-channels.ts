import { cat, formatShape, ShapeError, scope, type Tensor, tensor } from '@polymodal/tensor';
import { Conv2d, type Conv2dModuleOptions } from './conv2d.js';
import { Module } from './module.js';

export interface CoordChannelsOptions {
  /** Also append the distance from the centre, `r = √(x² + y²)` (Liu et al.'s `with_r`). Default false. */
  withRadius?: boolean;
}

/** Position along an axis of `size` cells, spread evenly over [−1, 1] (0 for a single cell). */
const coordinate = (i: number, size: number): number => (size > 1 ? -1 + (2 * i) / (size - 1) : 0);

/**
 * The coordinate planes of an `H × W` grid, `[2, H, W]` (or `[3, H, W]` with the radius): plane 0
 * is x, the column position (varies along W, −1 at the left edge, +1 at the right), plane 1 is y,
 * the row position (varies along H, −1 at the top, +1 at the bottom), plane 2 is `√(x² + y²)`.
 *
 * ```ts
 * coordinateGrid(2, 3).dataSync(); // x: [−1, 0, 1, −1, 0, 1], y: [−1, −1, −1, 1, 1, 1]
 * ```
 */
export function coordinateGrid(height: number, width: number, options: CoordChannelsOptions = {}): Tensor {
  const planes = options.withRadius ? 3 : 2;
  const values = new Float32Array(planes * height * width);
  const hw = height * width;
  for (let i = 0; i < height; i++) {
    const y = coordinate(i, height);
    for (let j = 0; j < width; j++) {
      const x = coordinate(j, width);
      const at = i * width + j;
      values[at] = x;
      values[hw + at] = y;
      if (planes === 3) values[2 * hw + at] = Math.sqrt(x * x + y * y);
    }
  }
  return tensor(values, { shape: [planes, height, width] });
}

function checkFeatureMap(op: string, x: Tensor): void {
  if (x.rank !== 4 || x.dtype !== 'float32') {
    throw new ShapeError(
      op,
      `input must be a float32 [N, C, H, W] feature map, got ${x.dtype} ${formatShape(x.shape)}`,
    );
  }
}

/**
 * CoordConv's coordinate channels (Liu et al. 2018, "An intriguing failing of convolutional neural
 * networks and the CoordConv solution"): appends the normalized x and y position of every cell (and
 * optionally its radius) as channels, `[N, C, H, W] → [N, C + 2 (+1), H, W]`, so a convolution or a
 * fusion over cells can tell *where* a feature is. Channel C is x (column, −1 left … +1 right),
 * C + 1 is y (row, −1 top … +1 bottom), C + 2 the radius; see `coordinateGrid`. Gradients flow to x.
 *
 * ```ts
 * addCoordChannels(randn([8, 24, 16, 16])).shape; // [8, 26, 16, 16]
 * ```
 */
export function addCoordChannels(x: Tensor, options: CoordChannelsOptions = {}): Tensor {
  checkFeatureMap('addCoordChannels', x);
  const [n, , h, w] = x.shape as [number, number, number, number];
  return scope(() => {
    const grid = coordinateGrid(h, w, options);
    return cat([x, grid.unsqueeze(0).expand(n, grid.shape[0]!, h, w)], 1);
  });
}

export interface FeatureMapToSequenceOptions extends CoordChannelsOptions {
  /** Append each cell's x and y (and radius, with `withRadius`) to its features. Default false. */
  coords?: boolean;
}

/**
 * A feature map as a sequence of cells for attention or fusion: `[N, C, H, W] → [N, H·W, C]`
 * (`[N, H·W, C + 2]` with `coords`: each cell's features followed by its x and y, as in
 * `addCoordChannels`). Cells are in row-major order: cell `i·W + j` is row i, column j. This is how
 * a conv stem's output becomes the image "tokens" of a Relation Network or a FiLM/attention fusion.
 *
 * ```ts
 * featureMapToSequence(randn([8, 64, 8, 8]), { coords: true }).shape; // [8, 64, 66]
 * ```
 */
export function featureMapToSequence(x: Tensor, options: FeatureMapToSequenceOptions = {}): Tensor {
  checkFeatureMap('featureMapToSequence', x);
  const [n, , h, w] = x.shape as [number, number, number, number];
  return scope(() => {
    const y = options.coords ? addCoordChannels(x, options) : x;
    return y.reshape(n, y.shape[1]!, h * w).transpose(1, 2);
  });
}

/**
 * `addCoordChannels` as a layer (the `AddCoords` of Liu et al. 2018): `[N, C, H, W] → [N, C + 2
 * (+1), H, W]`. No parameters.
 *
 * ```ts
 * new AddCoords({ withRadius: true }).forward(randn([2, 3, 8, 8])).shape; // [2, 6, 8, 8]
 * ```
 */
export class AddCoords extends Module {
  readonly withRadius: boolean;

  constructor(options: CoordChannelsOptions = {}) {
    super();
    this.withRadius = options.withRadius ?? false;
  }

  /** Channels this layer appends (2, or 3 with the radius). */
  get extraChannels(): number {
    return this.withRadius ? 3 : 2;
  }

  forward(x: Tensor): Tensor {
    return addCoordChannels(x, { withRadius: this.withRadius });
  }

  protected override extraRepr(): string {
    return `withRadius=${this.withRadius}`;
  }
}

export interface CoordConv2dOptions extends Conv2dModuleOptions, CoordChannelsOptions {}

/**
 * CoordConv (Liu et al. 2018): a `Conv2d` over the input with its coordinate channels appended,
 * `[N, inC, H, W] → [N, outC, OH, OW]`; the convolution (child `conv`) sees `inC + 2` (or `+ 3`)
 * channels.
 *
 * ```ts
 * const layer = new CoordConv2d(3, 24, 3, { stride: 2, padding: 1, seed: 0 });
 * layer.forward(randn([8, 3, 64, 64])).shape; // [8, 24, 32, 32]
 * ```
 */
export class CoordConv2d extends Module {
  readonly addCoords: AddCoords;
  readonly conv: Conv2d;

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | readonly [number, number],
    options: CoordConv2dOptions = {},
  ) {
    super();
    const { withRadius, ...convOptions } = options;
    this.addCoords = this.registerModule('addCoords', new AddCoords({ withRadius }));
    this.conv = this.registerModule(
      'conv',
      new Conv2d(inChannels + this.addCoords.extraChannels, outChannels, kernelSize, convOptions),
    );
  }

  forward(x: Tensor): Tensor {
    return scope(() => this.conv.forward(this.addCoords.forward(x)));
  }
}
