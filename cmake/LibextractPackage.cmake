# Install rules and the CMake package, so that `find_package(libextract)` works
# after `cmake --install` (tests/consumer checks it).
include(CMakePackageConfigHelpers)
install(TARGETS libextract
        EXPORT libextractTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/libextract/include/libextract
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
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
