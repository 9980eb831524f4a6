# Writes OUT (version.cpp) defining libextract::version() from RELEASE ("X.Y.Z") and, when
# SOURCE_DIR is the top of a git work tree and GIT runs, its commit and dirtiness
# (PEP 440 local version "+g<abbrev>[.dirty]"). Rewrites OUT only when it changes.
# Run by the libextract_version target (LibextractVersion.cmake) at every build.
set(version ${RELEASE})
if(GIT AND EXISTS ${SOURCE_DIR}/.git)
  execute_process(COMMAND ${GIT} -C ${SOURCE_DIR} rev-parse --short HEAD
                  RESULT_VARIABLE rc OUTPUT_VARIABLE commit ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(rc EQUAL 0 AND commit MATCHES "^[0-9a-f]+$")
    set(version "${RELEASE}+g${commit}")
    # Tracked files only: build folders and scratch files do not make a build dirty.
    execute_process(COMMAND ${GIT} -C ${SOURCE_DIR} status --porcelain --untracked-files=no
                    RESULT_VARIABLE rc OUTPUT_VARIABLE changes ERROR_QUIET)
    if(rc EQUAL 0 AND NOT changes STREQUAL "")
      set(version "${version}.dirty")
    endif()
  endif()
endif()
set(text "// Generated at build time by cmake/LibextractWriteVersion.cmake.
#include \"libextract/version.hpp\"

namespace libextract {

const char* version() noexcept { return \"${version}\"; }

}  // namespace libextract
")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUT} "${text}")
endif()
