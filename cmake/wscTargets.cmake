# Imported targets of an installed (or built) wsc; included by wscConfig.cmake,
# which sets the _wsc_* variables. The library is built by cargo, not by
# CMake, so these are written by hand rather than by install(EXPORT).
if(_wsc_has_shared AND NOT TARGET wsc::wsc)
  add_library(wsc::wsc SHARED IMPORTED)
  set_target_properties(wsc::wsc PROPERTIES
    IMPORTED_LOCATION "${_wsc_libdir}/libwsc.so.${_wsc_version}"
    IMPORTED_SONAME "${_wsc_soname}"
    INTERFACE_INCLUDE_DIRECTORIES "${_wsc_includedir}")
endif()
if(_wsc_has_static AND NOT TARGET wsc::wsc_static)
  separate_arguments(_wsc_native_static_libs UNIX_COMMAND "${_wsc_native_static_libs}")
  add_library(wsc::wsc_static STATIC IMPORTED)
  set_target_properties(wsc::wsc_static PROPERTIES
    IMPORTED_LOCATION "${_wsc_libdir}/libwsc.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES C
    INTERFACE_INCLUDE_DIRECTORIES "${_wsc_includedir}"
    INTERFACE_LINK_LIBRARIES "${_wsc_native_static_libs}")
endif()
# libwsc_lws: the libwebsockets client API, its headers in include/wsc-lws.
if(_wsc_lws_has_shared AND NOT TARGET wsc::lws_compat)
  add_library(wsc::lws_compat SHARED IMPORTED)
  set_target_properties(wsc::lws_compat PROPERTIES
    IMPORTED_LOCATION "${_wsc_libdir}/libwsc_lws.so.${_wsc_version}"
    IMPORTED_SONAME "${_wsc_lws_soname}"
    INTERFACE_INCLUDE_DIRECTORIES "${_wsc_lws_includedir}"
    INTERFACE_LINK_LIBRARIES wsc::wsc)
endif()
if(_wsc_lws_has_static AND NOT TARGET wsc::lws_compat_static)
  add_library(wsc::lws_compat_static STATIC IMPORTED)
  set_target_properties(wsc::lws_compat_static PROPERTIES
    IMPORTED_LOCATION "${_wsc_libdir}/libwsc_lws.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES C
    INTERFACE_INCLUDE_DIRECTORIES "${_wsc_lws_includedir}"
    INTERFACE_LINK_LIBRARIES wsc::wsc_static)
  if(NOT _wsc_lws_has_shared AND NOT TARGET wsc::lws_compat)
    add_library(wsc::lws_compat INTERFACE IMPORTED)
    set_target_properties(wsc::lws_compat PROPERTIES INTERFACE_LINK_LIBRARIES wsc::lws_compat_static)
  endif()
endif()
set(wsc_lws_compat_FOUND ${_wsc_lws_has_shared})
if(_wsc_lws_has_static)
  set(wsc_lws_compat_FOUND TRUE)
endif()
set(wsc_shared_FOUND ${_wsc_has_shared})
set(wsc_static_FOUND ${_wsc_has_static})
