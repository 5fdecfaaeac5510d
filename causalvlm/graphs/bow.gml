graph [
  directed 1
  description "The bow graph: X causes Y and a latent U causes both. Neither the back-door nor the front-door criterion applies, and P(Y | do(X)) is not identifiable from P(X, Y) at all."
  node [ id 0 label "U" latent 1 description "unmeasured common cause" ]
  node [ id 1 label "X" latent 0 description "treatment" ]
  node [ id 2 label "Y" latent 0 description "outcome" ]
  edge [ source 0 target 1 ]
  edge [ source 0 target 2 ]
  edge [ source 1 target 2 ]
]
