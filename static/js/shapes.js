// Every size the views use, derived once from /api/model's config (model/ is their one source): no view
// repeats 28, 784, 1152 or 16.

export function shapesOf(model) {
  const c = model.config;
  const conv1 = c.image_size - c.kernel_size + 1; // stride 1, no padding
  const grid = Math.floor((conv1 - c.kernel_size) / c.primary_stride) + 1; // PrimaryCaps positions per side
  return {
    image: c.image_size, // side of the input
    pixels: c.image_size * c.image_size,
    kernel: c.kernel_size,
    conv1Channels: c.conv1_channels,
    conv1Size: conv1, // side of a Conv1 feature map
    types: c.primary_types,
    grid,
    cells: grid * grid, // positions of one capsule type
    primary: model.primary_capsules ?? c.primary_types * grid * grid,
    primaryDim: c.primary_dim,
    digits: c.digit_count,
    dim: c.digit_dim,
    iterationsMax: model.routing_iterations_max,
    iterationsDefault: model.routing_iterations_default,
  };
}
