/** Host arrays the reference ops read and write. Floats are f32 or f64 by the backend's precision. */
export type Floats = Float32Array | Float64Array;
export type Ints = Int32Array;
