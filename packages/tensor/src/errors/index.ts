export { AnomalyError } from './anomaly-error.js';
export { ArgumentError } from './argument-error.js';
export { AutogradError } from './autograd-error.js';
export { BackendError } from './backend-error.js';
export { DisposedError } from './disposed-error.js';
export { DTypeError } from './dtype-error.js';
export { PolymodalError } from './polymodal-error.js';
export { ShapeError } from './shape-error.js';
