/**
 * Path safety for everything the web server reads from disk on a user's behalf: the engine's own check,
 * taken from its TensorFlow-free `data` entry so validating a path never loads TensorFlow.js.
 */
export { PathOutsideRootError, resolveInsideRoot } from '@defectflow/engine/data';
