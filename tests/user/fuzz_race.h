#pragma once
/*
 * Where fuzz.exe's racer works (tests/user/fuzz_race.c), shared with the fuzz suite
 * (tests/test_fuzz.c), whose hook changes the same memory from inside the calls. The
 * addresses are fixed so that the kernel's side knows them without being told.
 *
 *   FUZZ_RACE_IN    16 pages the calls read inputs from: each page holds all zeros or
 *                   all ones, or is decommitted, or cannot be read
 *   FUZZ_RACE_OUT   16 pages the calls write results to, decommitted and reprotected
 *   FUZZ_RACE_VIEW  64 KB where a view of the racer's section comes and goes
 *
 * The first two are one reservation, there from start to end; the view window is free
 * whenever the view is not mapped.
 */
#define FUZZ_RACE_PAGES 16
#define FUZZ_RACE_IN    0x6FF00000u
#define FUZZ_RACE_OUT   0x6FF10000u
#define FUZZ_RACE_VIEW  0x6FF20000u
#define FUZZ_RACE_END   0x6FF30000u
