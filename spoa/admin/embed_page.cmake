# Writes page.html into a C++ header as one raw string literal (run at build time by CMakeLists.txt).
file(READ "${IN}" content)
string(FIND "${content}" ")sticky_page" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter )sticky_page")
endif()
file(WRITE "${OUT}.tmp" "// Generated from spoa/admin/page.html at build time: edit that file instead.\n#pragma once\n#include <string_view>\nnamespace sticky::admin {\ninline constexpr std::string_view kAdminPage = R\"sticky_page(${content})sticky_page\";\n}  // namespace sticky::admin\n")
file(RENAME "${OUT}.tmp" "${OUT}")
