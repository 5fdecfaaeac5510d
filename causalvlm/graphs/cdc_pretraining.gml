graph [
  directed 1
  description "CDC (NeurIPS 2024), pre-training of CLIP. The pre-training data D determine which generative factors occur; the task-relevant factors G_r and the task-irrelevant factors G_i both generate the image X and its paired text Y. X and Y are associated only through the (unobserved) factors, so the contrastive objective learns a relation that mixes relevant and irrelevant knowledge."
  node [ id 0 label "D" latent 0 description "pre-training data source (which image-text collection a pair comes from)" ]
  node [ id 1 label "G_r" latent 1 latex "G_r" description "task-relevant generative factors (e.g. the object's shape), never measured" ]
  node [ id 2 label "G_i" latent 1 latex "G_i" description "task-irrelevant generative factors (e.g. background, style), never measured" ]
  node [ id 3 label "X" latent 0 description "image" ]
  node [ id 4 label "Y" latent 0 description "paired text (caption) seen in pre-training" ]
  edge [ source 0 target 1 ]
  edge [ source 0 target 2 ]
  edge [ source 1 target 3 ]
  edge [ source 2 target 3 ]
  edge [ source 1 target 4 ]
  edge [ source 2 target 4 ]
]
