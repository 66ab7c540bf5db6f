/* lp2p: the umbrella header. */
#ifndef LP2P_LP2P_H
#define LP2P_LP2P_H

#include "lp2p/budget.h"
#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/gossipsub.h"
#include "lp2p/host.h"
#include "lp2p/multiformats.h"
#include "lp2p/net.h"
#include "lp2p/node.h"
#include "lp2p/noise.h"
#include "lp2p/record.h"
#include "lp2p/session.h"
#include "lp2p/tls.h"
#include "lp2p/trace.h"

/* The library's version (the CMake project's; see docs/abi.md). */
#define LP2P_VERSION "0.4.0"

#endif
