graph [
  directed 1
  description "ShapeWorld, the generated world of causalvlm: the paper's pre-training graph with G_i split into named factors"
  node [
    id 0
    label "D"
    latent 0
    description "data source: pre-training corpus, few-shot training set (spurious cue of strength rho) or test set (rho = 0)"
  ]
  node [
    id 1
    label "noise"
    latent 1
    description "G_i: the std of Gaussian pixel noise, uniform in [0, 0.08]"
  ]
  node [
    id 2
    label "position"
    latent 1
    description "G_i: where the object sits (center, left, right, top, bottom)"
  ]
  node [
    id 3
    label "rotation"
    latent 1
    description "G_i: the object's rotation, uniform in [-20, 20] degrees"
  ]
  node [
    id 4
    label "shape"
    latent 1
    description "G_r: the object's shape, the task-relevant factor (24 classes)"
  ]
  node [
    id 5
    label "object_colour"
    latent 1
    description "G_i: the object's colour (8 chromatic colours)"
  ]
  node [
    id 6
    label "background_colour"
    latent 1
    description "G_i: the background colour (11 colours, never the object's)"
  ]
  node [
    id 7
    label "size"
    latent 1
    description "G_i: the object's size (small, medium, large)"
  ]
  node [
    id 8
    label "texture"
    latent 1
    description "G_i: the background texture (plain, stripes, dots, checker)"
  ]
  node [
    id 9
    label "X"
    latent 0
    description "the rendered 64x64 RGB image"
  ]
  node [
    id 10
    label "Y"
    latent 0
    description "the paired caption (pre-training) naming a subset of the factors; its shape word is the downstream label"
  ]
  edge [
    source 0
    target 5
  ]
  edge [
    source 0
    target 4
  ]
  edge [
    source 1
    target 9
  ]
  edge [
    source 2
    target 9
  ]
  edge [
    source 2
    target 10
  ]
  edge [
    source 3
    target 9
  ]
  edge [
    source 4
    target 9
  ]
  edge [
    source 4
    target 10
  ]
  edge [
    source 4
    target 5
  ]
  edge [
    source 5
    target 9
  ]
  edge [
    source 5
    target 10
  ]
  edge [
    source 5
    target 6
  ]
  edge [
    source 6
    target 9
  ]
  edge [
    source 6
    target 10
  ]
  edge [
    source 7
    target 9
  ]
  edge [
    source 7
    target 10
  ]
  edge [
    source 8
    target 9
  ]
  edge [
    source 8
    target 10
  ]
]
