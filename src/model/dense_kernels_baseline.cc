// The dense kernels compiled for baseline (see dense_kernels_impl.inc and CMakeLists.txt).
#define PARASOL_DENSE_ISA baseline
#define PARASOL_EIGEN_NS Eigen_baseline
#include "model/dense_kernels_impl.inc"
