graph [
  directed 1
  description "Textbook front-door example (Pearl, Causality, 2009, section 3.3.2). Smoking affects cancer only through tar deposits in the lungs; an unmeasured genotype raises both the urge to smoke and the cancer risk. Tar is a front-door set for the effect of Smoking on Cancer."
  node [ id 0 label "Genotype" latent 1 description "unmeasured genetic predisposition (latent confounder)" ]
  node [ id 1 label "Smoking" latent 0 description "whether the person smokes (treatment)" ]
  node [ id 2 label "Tar" latent 0 description "tar deposits in the lungs (mediator)" ]
  node [ id 3 label "Cancer" latent 0 description "lung cancer (outcome)" ]
  edge [ source 0 target 1 ]
  edge [ source 0 target 3 ]
  edge [ source 1 target 2 ]
  edge [ source 2 target 3 ]
]
