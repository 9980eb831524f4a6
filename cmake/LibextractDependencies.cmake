# Third-party libraries, all from Debian packages (scripts/install_deps.sh).
find_path(CFITSIO_INCLUDE_DIR fitsio.h PATH_SUFFIXES cfitsio)
find_library(CFITSIO_LIBRARY NAMES cfitsio)
if(NOT CFITSIO_INCLUDE_DIR OR NOT CFITSIO_LIBRARY)
  message(FATAL_ERROR "CFITSIO not found: run scripts/install_deps.sh (Debian: libcfitsio-dev)")
endif()
add_library(libextract_cfitsio INTERFACE)
target_include_directories(libextract_cfitsio INTERFACE ${CFITSIO_INCLUDE_DIR})
target_link_libraries(libextract_cfitsio INTERFACE ${CFITSIO_LIBRARY})
# zlib: the header check reads .gz inputs itself (decompressed-size cap) and .gz
# outputs are compressed after their FITS temporary is complete.
find_package(ZLIB REQUIRED)
target_link_libraries(libextract_cfitsio INTERFACE ZLIB::ZLIB)

# LAPACK: the dense reference the tests and benchmarks compare the library's own
# algebra with (the library calls none). OpenBLAS preferred over the reference one.
if(LIBEXTRACT_BUILD_TESTS OR LIBEXTRACT_BUILD_BENCH)
  set(BLA_VENDOR OpenBLAS)
  find_package(LAPACK QUIET)
  if(NOT LAPACK_FOUND)
    unset(BLA_VENDOR)
    find_package(LAPACK REQUIRED)
  endif()
endif()

if(LIBEXTRACT_ENABLE_OPENMP)
  find_package(OpenMP REQUIRED COMPONENTS CXX)
endif()
if(LIBEXTRACT_ENABLE_MPI)
  find_package(MPI REQUIRED COMPONENTS CXX)
endif()
find_package(Threads REQUIRED)
