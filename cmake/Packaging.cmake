# Packaging: the systemd unit, the default configuration, the service user, the man page, and a
# .deb built by CPack from this same tree (`cmake --build build --target package`, or `cpack` in
# the build dir; the package lands in build/packages/).
#
# Paths inside the unit and the place of the configuration depend on the prefix the files are
# installed under, which is only known at install time: `cmake --install build --prefix /usr`
# and CPack (prefix /usr) must give /usr/bin and /etc, the default /usr/local gives /usr/local/bin
# and /usr/local/etc. So those two files are placed by install(CODE) with the install-time
# prefix, and everything else by ordinary install() rules relative to the prefix.
include(GNUInstallDirs)
set(STICKY_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)
set(STICKY_PACKAGE_MAINTAINER "sticky-agent maintainers <maintainers@sticky-agent.example>"
    CACHE STRING "Maintainer: field of the .deb (put the packager's real address here)")

# Under the prefix: /usr/lib/systemd/system and /usr/lib/sysusers.d for /usr, and the /usr/local
# twins, which systemd also reads. Not CMAKE_INSTALL_LIBDIR: on Debian that is lib/<triplet>.
set(STICKY_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING "systemd unit directory, relative to the prefix")
set(STICKY_SYSUSERS_DIR "lib/sysusers.d" CACHE STRING "sysusers.d directory, relative to the prefix")

install(FILES ${STICKY_PACKAGING_DIR}/sysusers.conf
        DESTINATION ${STICKY_SYSUSERS_DIR} RENAME sticky-agent.conf)
install(FILES ${STICKY_PACKAGING_DIR}/systemd/haproxy-chroot.conf
        DESTINATION ${CMAKE_INSTALL_DATADIR}/sticky-agent/systemd)
install(FILES ${STICKY_PACKAGING_DIR}/deb/copyright DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/sticky-agent)
# Debian wants a changelog in every package's doc directory (a native package: changelog.gz).
configure_file(${STICKY_PACKAGING_DIR}/deb/changelog.in ${CMAKE_BINARY_DIR}/packaging/changelog @ONLY)

# The unit (paths from the install-time prefix) and /etc/sticky-agent/sticky-agent.yaml (file(INSTALL)
# adds DESTDIR to an absolute destination itself, as the generated rules rely on). An
# existing configuration is never overwritten by `cmake --install`: the shipped one is put next
# to it as sticky-agent.yaml.dist (the .deb marks it a conffile, so dpkg asks instead).
install(CODE "
  set(sticky_prefix \"\${CMAKE_INSTALL_PREFIX}\")
  if(sticky_prefix STREQUAL \"/usr\")
    set(sticky_etc \"/etc\")
  else()
    set(sticky_etc \"\${sticky_prefix}/etc\")
  endif()
  set(STICKY_BINDIR \"\${sticky_prefix}/${CMAKE_INSTALL_BINDIR}\")
  set(STICKY_SYSCONFDIR \"\${sticky_etc}/sticky-agent\")
  set(STICKY_DATADIR \"\${sticky_prefix}/${CMAKE_INSTALL_DATADIR}/sticky-agent\")
  set(STICKY_DOCDIR \"\${sticky_prefix}/${CMAKE_INSTALL_DATADIR}/doc/sticky-agent\")
  configure_file(\"${STICKY_PACKAGING_DIR}/sticky-agent.service.in\"
                 \"${CMAKE_BINARY_DIR}/packaging/sticky-agent.service\" @ONLY)
  file(INSTALL \"${CMAKE_BINARY_DIR}/packaging/sticky-agent.service\"
       DESTINATION \"\${sticky_prefix}/${STICKY_SYSTEMD_UNIT_DIR}\")
  set(sticky_conf \"\$ENV{DESTDIR}\${STICKY_SYSCONFDIR}/sticky-agent.yaml\")
  set(sticky_conf_name sticky-agent.yaml)
  if(EXISTS \"\${sticky_conf}\")
    file(READ \"\${sticky_conf}\" sticky_old)
    file(READ \"${STICKY_PACKAGING_DIR}/sticky-agent.yaml\" sticky_new)
    if(NOT sticky_old STREQUAL sticky_new)
      message(STATUS \"Keeping: \${sticky_conf} (the shipped one is sticky-agent.yaml.dist beside it)\")
      set(sticky_conf_name sticky-agent.yaml.dist)
    endif()
  endif()
  file(INSTALL \"${STICKY_PACKAGING_DIR}/sticky-agent.yaml\"
       DESTINATION \"\${STICKY_SYSCONFDIR}\" RENAME \${sticky_conf_name})
")

# The man page: the markdown source plus the OPTIONS of the built binary's --help, so it cannot
# drift from the binary. Needs python3 at build time (no network, no other tool).
# Not in sanitizer or fuzz builds: they package nothing, and their binary is not the shipped one.
find_package(Python3 COMPONENTS Interpreter)
if(STICKY_SANITIZE OR STICKY_FUZZ)
  # no man page
elseif(Python3_Interpreter_FOUND)
  set(STICKY_MANPAGE ${CMAKE_BINARY_DIR}/man/sticky-agent.8.gz)
  add_custom_command(
    OUTPUT ${STICKY_MANPAGE}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND ${Python3_EXECUTABLE} ${STICKY_PACKAGING_DIR}/man/make-manpage.py
            --binary $<TARGET_FILE:sticky-agent> --source ${STICKY_PACKAGING_DIR}/man/sticky-agent.8.md
            --output ${STICKY_MANPAGE}
    DEPENDS sticky-agent ${STICKY_PACKAGING_DIR}/man/sticky-agent.8.md ${STICKY_PACKAGING_DIR}/man/make-manpage.py
    COMMENT "Generating the sticky-agent(8) man page"
    VERBATIM)
  add_custom_target(sticky-agent-manpage ALL DEPENDS ${STICKY_MANPAGE})
  install(FILES ${STICKY_MANPAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
  set(STICKY_CHANGELOG_GZ ${CMAKE_BINARY_DIR}/packaging/changelog.gz)
  add_custom_command(
    OUTPUT ${STICKY_CHANGELOG_GZ}
    COMMAND ${Python3_EXECUTABLE} -c
            "import gzip,sys; d=open(sys.argv[1],'rb').read(); f=open(sys.argv[2],'wb'); g=gzip.GzipFile(filename='',mode='wb',fileobj=f,mtime=0,compresslevel=9); g.write(d); g.close(); f.close()"
            ${CMAKE_BINARY_DIR}/packaging/changelog ${STICKY_CHANGELOG_GZ}
    DEPENDS ${CMAKE_BINARY_DIR}/packaging/changelog
    VERBATIM)
  add_custom_target(sticky-agent-changelog ALL DEPENDS ${STICKY_CHANGELOG_GZ})
  install(FILES ${STICKY_CHANGELOG_GZ} DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/sticky-agent)
else()
  message(WARNING "python3 not found: the sticky-agent(8) man page is neither built nor installed")
endif()

# ---- the .deb --------------------------------------------------------------------------------
# DESTDIR staging with the prefix /usr, so the install(CODE) above sees the package's own prefix.
set(CPACK_GENERATOR DEB)
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_NAME sticky-agent)
set(CPACK_PACKAGE_VENDOR "sticky-agent authors")
set(CPACK_PACKAGE_CONTACT "${STICKY_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "session persistence and routing agent (SPOE) for HAProxy")
# The extended description only: CPack puts the summary above it as the synopsis line.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "HAProxy asks the agent, request by request over SPOP, which server a client
belongs to: by a sealed insert cookie, the application's session cookie,
True-Client-IP from trusted CDN edges, X-Forwarded-For or the source subnet,
following HAProxy's server states, optionally shared between nodes through
Redis. Also Hash Serial and Forward routing for cache tiers. With the agent
down, HAProxy balances by itself.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies from dpkg-shlibdeps; passwd for useradd/usermod in postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "haproxy")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "redis-server")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${STICKY_PACKAGING_DIR}/deb/postinst ${STICKY_PACKAGING_DIR}/deb/prerm
    ${STICKY_PACKAGING_DIR}/deb/postrm ${STICKY_PACKAGING_DIR}/deb/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Release builds keep symbols for benchmarks; the package does not need them.
set(CPACK_STRIP_FILES ON)
set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_BINARY_DIR}/packages)
include(CPack)
