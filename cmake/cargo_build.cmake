# Run by the wsc_cargo target (cmake -P): builds the wsc crate with cargo and
# stages the libraries under STAGE_DIR with the installed file layout.
# Inputs: CARGO MANIFEST TARGET_DIR PROFILE(debug|release) SHARED STATIC
#         SONAME VERSION STAGE_DIR NATIVE_STATIC_LIBS CC VERSION_SCRIPT OBJCOPY
#
# cargo builds one static library; libwsc.so is linked from it here, with
# the linker version script VERSION_SCRIPT, so that nothing but wsc_* is
# exported (rustc's own cdylib link passes a version script of its own that
# another cannot narrow). Both staged libraries carry no debug information:
#   libwsc.so.VERSION               debug info split off into
#   .debug/libwsc.so.VERSION.debug  (named by its .gnu_debuglink: gdb finds it)
#   libwsc.a                        debug info removed (cargo's own
#                                   TARGET_DIR/PROFILE/libwsc.a keeps it)
cmake_minimum_required(VERSION 3.21)

# `cargo rustc` passes the arguments after `--` to the wsc crate only: a
# request to print the native libraries the staticlib needs (printed only
# when the crate is actually recompiled).
set(_cmd "${CARGO}" rustc --lib --manifest-path "${MANIFEST}"
         --target-dir "${TARGET_DIR}" --crate-type staticlib)
# TSAN_TARGET (the host triple, set for WSC_SANITIZE_THREAD): every crate of the library is
# built instrumented for ThreadSanitizer; an explicit --target keeps the flags off build
# scripts and puts the artifacts apart, under TARGET_DIR/TSAN_TARGET.
set(_profile_dir "${TARGET_DIR}/${PROFILE}")
if(TSAN_TARGET)
  set(ENV{RUSTC_BOOTSTRAP} 1)
  set(ENV{RUSTFLAGS} "-Zsanitizer=thread -Cunsafe-allow-abi-mismatch=sanitizer --cfg wsc_tsan")
  list(APPEND _cmd --target "${TSAN_TARGET}")
  set(_profile_dir "${TARGET_DIR}/${TSAN_TARGET}/${PROFILE}")
endif()
if(PROFILE STREQUAL "release")
  list(APPEND _cmd --release)
endif()
list(APPEND _cmd -- --print native-static-libs)
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

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    string(REPLACE ";" " " _cmdline "${ARGN}")
    message(FATAL_ERROR "wsc: failed (exit ${_rc}): ${_cmdline}")
  endif()
endfunction()

# Staged files are rewritten only when cargo's library is newer, so that
# programs are relinked only when the library really changed.
set(_archive "${_profile_dir}/libwsc.a")
file(MAKE_DIRECTORY "${STAGE_DIR}/.debug")
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

if(SHARED)
  set(_lib "${STAGE_DIR}/libwsc.so.${VERSION}")
  set(_debug "${STAGE_DIR}/.debug/libwsc.so.${VERSION}.debug")
  if(NOT EXISTS "${_lib}" OR NOT EXISTS "${_debug}"
     OR "${_archive}" IS_NEWER_THAN "${_lib}" OR "${VERSION_SCRIPT}" IS_NEWER_THAN "${_lib}")
    separate_arguments(_native UNIX_COMMAND "${NATIVE_STATIC_LIBS}")
    set(_full "${STAGE_DIR}/.debug/libwsc.so.${VERSION}.full")
    # The flags rustc links a cdylib with, and the version script.
    run("${CC}" -shared -o "${_full}" "-Wl,-soname,${SONAME}"
        "-Wl,--version-script=${VERSION_SCRIPT}" -Wl,--gc-sections -Wl,--as-needed
        -Wl,-z,relro,-z,now -Wl,-z,noexecstack
        -Wl,--whole-archive "${_archive}" -Wl,--no-whole-archive ${_native})
    run("${OBJCOPY}" --only-keep-debug --compress-debug-sections=zlib "${_full}" "${_debug}")
    # --add-gnu-debuglink records the debug file's name and checksum.
    run("${OBJCOPY}" --strip-debug "--add-gnu-debuglink=${_debug}" "${_full}" "${_lib}.tmp")
    file(RENAME "${_lib}.tmp" "${_lib}")
    file(REMOVE "${_full}")
  endif()
  stage_link("libwsc.so.${VERSION}" "${SONAME}")
  stage_link("${SONAME}" "libwsc.so")
  # What an earlier version (or soname rule) left behind.
  file(GLOB _old "${STAGE_DIR}/libwsc.so.*" "${STAGE_DIR}/.debug/libwsc.so.*")
  list(REMOVE_ITEM _old "${_lib}" "${_debug}" "${STAGE_DIR}/${SONAME}")
  if(_old)
    file(REMOVE ${_old})
  endif()
endif()
if(STATIC)
  if(NOT EXISTS "${STAGE_DIR}/libwsc.a" OR "${_archive}" IS_NEWER_THAN "${STAGE_DIR}/libwsc.a")
    run("${OBJCOPY}" --strip-debug "${_archive}" "${STAGE_DIR}/libwsc.a.tmp")
    file(RENAME "${STAGE_DIR}/libwsc.a.tmp" "${STAGE_DIR}/libwsc.a")
  endif()
endif()
