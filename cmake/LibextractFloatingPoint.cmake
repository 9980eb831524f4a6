# The bit-compatibility contract (docs/architecture in ../shared/design): every target
# that compiles libextract/kernels/ must round exactly like every other one.
#  * host:   no contraction of a*b+c into fma (-ffp-contract=off), no fast-math
#  * device: no fused multiply-add (--fmad=false); -prec-div/-prec-sqrt stay at
#            their IEEE defaults
# The flags ride on the INTERFACE target libextract_kernels, so linking the kernels
# is enough to inherit them.
add_library(libextract_fp_contract INTERFACE)
target_compile_options(libextract_fp_contract INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-ffp-contract=off -fno-fast-math>
  $<$<COMPILE_LANGUAGE:CUDA>:--fmad=false -Xcompiler=-ffp-contract=off>)
