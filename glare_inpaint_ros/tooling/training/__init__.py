"""The project's own compact inpainting network: definition (:mod:`.net`), training (:mod:`.train`)
and ONNX export (:mod:`.export`). Needs torch; the runtime path only needs onnxruntime."""
