/* golf/golf.h: the umbrella header. Go-style lock-free concurrency for C11. */
#ifndef GOLF_GOLF_H
#define GOLF_GOLF_H

#include "golf/error.h"
#include "golf/sync.h"
#include "golf/ring.h"
#include "golf/chan.h"
#include "golf/syncmap.h"
#include "golf/pool.h"

#define GOLF_VERSION_MAJOR 0
#define GOLF_VERSION_MINOR 1
#define GOLF_VERSION_PATCH 0

#endif
