# ASan + UBSan for the whole build when STICKY_SANITIZE is on (CI runs the unit tests this way).
if(STICKY_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
