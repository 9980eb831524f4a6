# Install rules, the CMake package and the pkg-config file, so that
# `find_package(libextract)` and `pkg-config --cflags --libs libextract` work after
# `cmake --install` (tests/consumer checks both).
include(CMakePackageConfigHelpers)
install(TARGETS libextract
        EXPORT libextractTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# Only the headers (not config.hpp.in, the template of the generated config.hpp).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/libextract/include/libextract
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
install(FILES ${PROJECT_BINARY_DIR}/generated/libextract/config.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/libextract)
install(EXPORT libextractTargets NAMESPACE libextract::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/libextract)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/libextractConfig.cmake.in
  ${PROJECT_BINARY_DIR}/libextractConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/libextract)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/libextractConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/libextractConfig.cmake
              ${PROJECT_BINARY_DIR}/libextractConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/libextract)

# pkg-config: the library and its include directory. Its private dependencies (CFITSIO,
# OpenMP, CUDA runtime) are not needed to link a consumer against the shared library.
# No -std flag: config.hpp itself rejects a dialect below C++17.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(libextract_pc_libdir "${CMAKE_INSTALL_LIBDIR}")
else()
  set(libextract_pc_libdir "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(libextract_pc_includedir "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(libextract_pc_includedir "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/libextract.pc.in ${PROJECT_BINARY_DIR}/libextract.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/libextract.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
