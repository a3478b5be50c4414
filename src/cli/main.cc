#include "cli/commands.h"

int main(int argc, char** argv) { return parasol::RunCli(argc, argv); }
