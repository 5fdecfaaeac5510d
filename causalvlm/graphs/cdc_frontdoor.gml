graph [
  directed 1
  description "CDC (NeurIPS 2024), the front-door classifier. The image X acts on the class Y only through the decoupled semantics S produced by M prompt templates (the mediator); the latent task-irrelevant knowledge G_i_hat still confounds X and Y, but S satisfies the front-door criterion, so P(Y | do(X)) = sum_s P(s | X) sum_x' P(Y | x', s) P(x')."
  node [ id 0 label "G_i_hat" latent 1 latex "\hat{G}_i" description "task-irrelevant knowledge learned in pre-training (latent confounder)" ]
  node [ id 1 label "X" latent 0 description "downstream image" ]
  node [ id 2 label "S" latent 0 description "decoupled semantics, one per prompt template (the mediator)" ]
  node [ id 3 label "Y" latent 0 description "predicted downstream class" ]
  edge [ source 0 target 1 ]
  edge [ source 0 target 3 ]
  edge [ source 1 target 2 ]
  edge [ source 2 target 3 ]
]
