# Run by the wsc_cargo target (cmake -P): builds the wsc crate with cargo and
# stages the libraries under STAGE_DIR with the installed file layout.
# Inputs: CARGO MANIFEST TARGET_DIR PROFILE(debug|release) CRATE_TYPES
#         SONAME VERSION STAGE_DIR NATIVE_STATIC_LIBS
cmake_minimum_required(VERSION 3.21)

# `cargo rustc` passes the arguments after `--` to the wsc crate only: the
# soname for the cdylib, and a request to print the native libraries the
# staticlib needs (printed only when the crate is actually recompiled).
set(_cmd "${CARGO}" rustc --lib --manifest-path "${MANIFEST}"
         --target-dir "${TARGET_DIR}" --crate-type "${CRATE_TYPES}")
if(PROFILE STREQUAL "release")
  list(APPEND _cmd --release)
endif()
list(APPEND _cmd -- "-Clink-arg=-Wl,-soname,${SONAME}" --print native-static-libs)
execute_process(COMMAND ${_cmd} RESULT_VARIABLE _rc
                ERROR_VARIABLE _err ECHO_ERROR_VARIABLE)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "wsc: cargo failed (exit ${_rc})")
endif()

string(REGEX MATCH "native-static-libs: ([^\n]*)" _match "${_err}")
if(_match AND NOT CMAKE_MATCH_1 STREQUAL NATIVE_STATIC_LIBS)
  message(FATAL_ERROR
    "wsc: libwsc.a needs the native libraries\n  ${CMAKE_MATCH_1}\n"
    "but this build was configured with WSC_NATIVE_STATIC_LIBS=\n  ${NATIVE_STATIC_LIBS}\n"
    "Re-configure with -DWSC_NATIVE_STATIC_LIBS=\"${CMAKE_MATCH_1}\".")
endif()

# Copy (not move: cargo keeps its fingerprints) only what changed, so that
# programs are relinked only when the library really changed.
set(_out "${TARGET_DIR}/${PROFILE}")
file(MAKE_DIRECTORY "${STAGE_DIR}")
function(stage_link target link)
  if(IS_SYMLINK "${STAGE_DIR}/${link}")
    file(READ_SYMLINK "${STAGE_DIR}/${link}" _current)
    if(_current STREQUAL target)
      return()
    endif()
  endif()
  file(REMOVE "${STAGE_DIR}/${link}")
  file(CREATE_LINK "${target}" "${STAGE_DIR}/${link}" SYMBOLIC)
endfunction()
if(CRATE_TYPES MATCHES "cdylib")
  file(COPY_FILE "${_out}/libwsc.so" "${STAGE_DIR}/libwsc.so.${VERSION}" ONLY_IF_DIFFERENT)
  stage_link("libwsc.so.${VERSION}" "${SONAME}")
  stage_link("${SONAME}" "libwsc.so")
endif()
if(CRATE_TYPES MATCHES "staticlib")
  file(COPY_FILE "${_out}/libwsc.a" "${STAGE_DIR}/libwsc.a" ONLY_IF_DIFFERENT)
endif()
