graph [
  directed 1
  description "A back-door identifiable graph with a collider trap. Z3 confounds X and Y, but Z3 is also a collider between Z1 and Z2: adjusting for Z3 alone opens X <- Z1 -> Z3 <- Z2 -> Y. The minimal back-door sets are {Z1, Z3} and {Z2, Z3}."
  node [ id 0 label "Z1" latent 0 description "a cause of X and of Z3" ]
  node [ id 1 label "Z2" latent 0 description "a cause of Y and of Z3" ]
  node [ id 2 label "Z3" latent 0 description "a common cause of X and Y, and a collider of Z1 and Z2" ]
  node [ id 3 label "X" latent 0 description "treatment" ]
  node [ id 4 label "Y" latent 0 description "outcome" ]
  edge [ source 0 target 2 ]
  edge [ source 1 target 2 ]
  edge [ source 0 target 3 ]
  edge [ source 2 target 3 ]
  edge [ source 1 target 4 ]
  edge [ source 2 target 4 ]
  edge [ source 3 target 4 ]
]
