// The local image catalog of the process runtime: resolve a pod's image
// reference to what to run, combine it with the container's command/args,
// and describe the catalog for node.status.images. See catalog.ts.

export {
  type ImageInfo,
  type ResolveOptions,
  HOST_PATH,
  appletDirFor,
  availableImages,
  catalogImages,
  containerArgv,
  defaultImagesDir,
  demoappEntrypoint,
  imageError,
  imageIdFor,
  imagePullBackOff,
  imagePullError,
  invalidImageNameError,
  prepareImage,
  resolveImage,
} from './catalog.js';
export { type ImageRef, normalizeImageRef, parseImageRef } from './ref.js';
export { REQUIRED_APPLETS, ensureAppletDir, findBusybox, listApplets } from './busybox.js';
