graph [
  directed 1
  description "CDC (NeurIPS 2024), adaptation of CLIP to a downstream task. The prediction Y of the class from the image X is confounded by the task-irrelevant knowledge G_i_hat that CLIP absorbed in pre-training: it shapes both the image representation and the prediction, opening the back-door path X <- G_i_hat -> Y. G_i_hat is unobservable, so P(Y | do(X)) is not identified by adjustment in this graph."
  node [ id 0 label "G_i_hat" latent 1 latex "\hat{G}_i" description "task-irrelevant knowledge learned in pre-training (latent confounder)" ]
  node [ id 1 label "X" latent 0 description "downstream image" ]
  node [ id 2 label "Y" latent 0 description "predicted downstream class" ]
  edge [ source 0 target 1 ]
  edge [ source 0 target 2 ]
  edge [ source 1 target 2 ]
]
