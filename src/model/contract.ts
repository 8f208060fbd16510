/**
 * The ONNX contract every stockflow model keeps (src/model/score.ts checks it,
 * src/model/onnx/export.ts writes it): one float input [N, n_features] and a
 * float output `probabilities` [N, 2] whose column 1 is P(upper circuit).
 */
export const PROBABILITIES_OUTPUT = 'probabilities';
/** The label output the exported trees also carry (never run by stockflow). */
export const LABEL_OUTPUT = 'label';
