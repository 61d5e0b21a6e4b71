/*
 * run.h - `sn-sim run`: replay a scenario in virtual time and report
 * (scenario_run.h does the work; this is its command line).
 */
#ifndef SNBRIDGE_SIM_RUN_H
#define SNBRIDGE_SIM_RUN_H

/*
 * The `run` subcommand; argv[0] is "run". Returns the exit status: 0 the
 * run finished (and, with --fail-on-loss, lost nothing), 1 an error, 2 bad
 * arguments, 3 messages lost under --fail-on-loss.
 */
int sim_run_main(int argc, char **argv);

#endif
