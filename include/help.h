/*
 * help.h — the text of --help, for the program and for each command.
 */
#ifndef SIPREMS_HELP_H
#define SIPREMS_HELP_H

/* Prints the help of one command (or the whole program when name is NULL,
 * or names no command). */
void cli_help(const char *name);

#endif
