# mgw_add_module(<name> [DEPENDS <targets>...])
# Builds src/<name>/*.cpp into the static library mgw_<name> with include/ as its public
# include root. A module with no sources yet is an INTERFACE library of its headers.
function(mgw_add_module name)
    cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
    file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
    if(sources)
        add_library(mgw_${name} STATIC ${sources})
        target_include_directories(mgw_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
        target_link_libraries(mgw_${name} PUBLIC ${ARG_DEPENDS})
    else()
        add_library(mgw_${name} INTERFACE)
        target_include_directories(mgw_${name} INTERFACE ${PROJECT_SOURCE_DIR}/include)
        target_link_libraries(mgw_${name} INTERFACE ${ARG_DEPENDS})
    endif()
endfunction()

# mgw_add_unit_tests(<module> [DEPENDS <targets>...])
# One Catch2 executable per module from test/unit/<module>/*.cpp; every TEST_CASE is a ctest case.
function(mgw_add_unit_tests module)
    cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
    file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/test/unit/${module}/*.cpp)
    if(NOT sources)
        return()
    endif()
    add_executable(unit_${module} ${sources})
    target_link_libraries(unit_${module} PRIVATE mgw_catch_main mgw_${module} ${ARG_DEPENDS})
    target_compile_definitions(unit_${module} PRIVATE
        MGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
        MGW_CORPUS_DIR="${MGW_CORPUS_DIR}")
    catch_discover_tests(unit_${module} TEST_PREFIX "${module}: " PROPERTIES LABELS unit)
    add_dependencies(unit_tests unit_${module})
endfunction()
