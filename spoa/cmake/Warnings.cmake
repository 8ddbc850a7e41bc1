# One place for compiler warnings; every project target links sticky_warnings.
add_library(sticky_warnings INTERFACE)
target_compile_options(sticky_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
if(STICKY_WERROR)
  target_compile_options(sticky_warnings INTERFACE -Werror)
endif()
