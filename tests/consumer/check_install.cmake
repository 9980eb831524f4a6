# Installs the build tree into a scratch prefix and uses it as downstream users do,
# failing loudly at any step. Invoked by CTest (test install_and_find_package):
#  1. only real headers are installed (config.hpp, not its template config.hpp.in);
#  2. a CMake consumer (find_package), and the same asking for C++14: libextract's
#     cxx_std_17 requirement raises it to C++17;
#  3. a pkg-config consumer with -std=c++17, and one with -std=c++14 that must stop at
#     config.hpp's "libextract requires C++17";
#  4. the Python package's `libextract` command (what the wheel installs: component
#     python), run through its entry point: `libextract --version`.
# Inputs: SOURCE_DIR, BUILD_DIR, WORK_DIR, LIBDIR, CXX, PKG_CONFIG; PYTHON_FACTS (a file
# setting PYTHON_EXECUTABLE and PYTHON_PACKAGE_DIR) when the Python package is built.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
  set(run_output "${out}" PARENT_SCOPE)
endfunction()
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# 1. headers
if(NOT EXISTS ${prefix}/include/libextract/config.hpp)
  message(FATAL_ERROR "the generated include/libextract/config.hpp was not installed")
endif()
file(GLOB_RECURSE stray RELATIVE ${prefix}/include ${prefix}/include/*)
list(FILTER stray EXCLUDE REGEX "\\.hpp$")
if(stray)
  message(FATAL_ERROR "installed files that are not headers: ${stray}")
endif()

# 2. CMake consumers, C++17 and C++14
foreach(std 17 14)
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/build-cmake-${std}
      -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=${std})
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/build-cmake-${std})
  run(${WORK_DIR}/build-cmake-${std}/consumer ${WORK_DIR}/psf-cmake-${std}.fits)
endforeach()

# 3. pkg-config consumers. The prefix is redefined: the .pc file names the configured
# install prefix, and this test installs elsewhere.
set(ENV{PKG_CONFIG_PATH} ${prefix}/${LIBDIR}/pkgconfig)
run(${PKG_CONFIG} --define-variable=prefix=${prefix} --cflags --libs libextract)
separate_arguments(pc_flags UNIX_COMMAND "${run_output}")
run(${CXX} -std=c++17 ${SOURCE_DIR}/tests/consumer/consumer.cpp ${pc_flags} -Wl,-rpath,${prefix}/${LIBDIR}
    -o ${WORK_DIR}/consumer-pc)
run(${WORK_DIR}/consumer-pc ${WORK_DIR}/psf-pc.fits)
execute_process(COMMAND ${CXX} -std=c++14 -fsyntax-only ${SOURCE_DIR}/tests/consumer/consumer.cpp ${pc_flags}
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "a -std=c++14 consumer compiled; config.hpp should have stopped it")
endif()
if(NOT err MATCHES "libextract requires C\\+\\+17")
  message(FATAL_ERROR "a -std=c++14 consumer failed without \"libextract requires C++17\":\n${err}")
endif()
message(STATUS "-std=c++14 consumer stopped with \"libextract requires C++17\"")

# 4. the wheel's `libextract` command
if(PYTHON_FACTS)
  include(${PYTHON_FACTS})
  set(wheel ${WORK_DIR}/wheel)
  run(${CMAKE_COMMAND} --install ${BUILD_DIR} --component python --prefix ${wheel})
  set(ENV{PYTHONPATH} ${wheel}/${PYTHON_PACKAGE_DIR}/..)
  # The entry point of the console script that pip writes for [project.scripts].
  run(${PYTHON_EXECUTABLE} -m libextract._cli --version)
  if(NOT run_output MATCHES "^libextract [0-9]+\\.[0-9]+\\.[0-9]+")
    message(FATAL_ERROR "the wheel's `libextract --version` printed:\n${run_output}")
  endif()
endif()
