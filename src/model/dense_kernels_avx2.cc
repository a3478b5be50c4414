// The dense kernels compiled for avx2 (see dense_kernels_impl.inc and CMakeLists.txt).
#define PARASOL_DENSE_ISA avx2
#define PARASOL_EIGEN_NS Eigen_avx2
#include "model/dense_kernels_impl.inc"
