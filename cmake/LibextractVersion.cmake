# The PEP 440 version of this build, libextract::version(): "X.Y.Z+g<commit>" built from
# a git checkout of the sources, with ".dirty" when tracked files differ from that
# commit, and plain "X.Y.Z" (project(VERSION)) from an sdist or any tree without git.
# It is worked out at every build, not at configure time, so a commit or an edit after
# `cmake` still shows; the generated source only changes (and relinks the library) when
# the version does. Used by libextract/CMakeLists.txt:
#   libextract_add_version_source(<target>)
function(libextract_add_version_source target)
  set(out ${PROJECT_BINARY_DIR}/generated/version.cpp)
  find_package(Git QUIET)
  add_custom_target(libextract_version
    COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DRELEASE=${PROJECT_VERSION}
            -DGIT=${GIT_EXECUTABLE} -DOUT=${out} -P ${PROJECT_SOURCE_DIR}/cmake/LibextractWriteVersion.cmake
    BYPRODUCTS ${out}
    COMMENT "libextract: version of this build"
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
  add_dependencies(${target} libextract_version)
endfunction()
