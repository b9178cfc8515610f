# Warnings every target gets (brief: -Wall -Wextra -Wshadow -Wconversion -Wformat=2).
set(RRAS_WARNINGS -Wall -Wextra -Wshadow -Wconversion -Wformat=2 -Wstrict-prototypes
    -Wmissing-prototypes -Wvla)
if(RRAS_WERROR)
  list(APPEND RRAS_WARNINGS -Werror)
endif()
add_compile_options(${RRAS_WARNINGS})
add_compile_definitions(_POSIX_C_SOURCE=200809L _DEFAULT_SOURCE)
