// The dense kernels compiled for avx512 (see dense_kernels_impl.inc and CMakeLists.txt).
#define PARASOL_DENSE_ISA avx512
#define PARASOL_EIGEN_NS Eigen_avx512
#include "model/dense_kernels_impl.inc"
