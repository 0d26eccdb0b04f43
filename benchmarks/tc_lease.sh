#!/usr/bin/env bash
# On the lent GPU machine (carry .device, see README "GPU machine"), the experiments waiting for a
# GPU, in steps named on the command line, e.g. `bash benchmarks/tc_lease.sh harness build tests`
# then `bash benchmarks/tc_lease.sh vit resnet` on the same warm machine (a call may run 10
# minutes; the build is kept in build/gpu between calls). Results go to $OUT.
#   harness  ViT-B/16's GEMMs on the ping-pong GEMM (tc_pingpong.clh) against today's 128 x 256
#            tile (V1-V4), then ResNet-50's short 1x1 GEMMs on the persistent GEMM (PERSIST)
#            against today's tiles and the ping-pong block on 64 x 128 tiles (S1-S5); the
#            harness checks each against its host reference
#   build    clrt into build/gpu (in the background while the harness runs when both are named)
#   tests    the ping-pong and persistent tactics' tests, natively
#   vit      bench_torch ViT-B/16 b64 FP16 beside torch.compile FP16
#   vitpp    the same FP16 engine without the ping-pong tactics (CLRT_TC_PINGPONG=0)
#   vit8     ViT-B/16 b64 INT8
#   resnet   bench_torch ResNet-50 b64 INT8 with CLRT_TC_PINGPONG=1 (the builder also times
#            conv.tc_int8_wgpp beside the others), and a clrtexec profile
# Written in sessions 33-35 (the first two without a GPU).
set -uo pipefail
cd "$(dirname "$0")/.."
source .device/gpu-env.sh >/dev/null
PY=$(command -v python3); [ -x /opt/torch/.venv/bin/python ] && PY=/opt/torch/.venv/bin/python
nvidia-smi --query-gpu=name --format=csv,noheader
T0=$(date +%s); el() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
has() { [[ " $STEPS " == *" $1 "* ]]; }
STEPS=" $* "
K=csrc/clrt/kernels
BD=$PWD/build/gpu
BPID=""
if has build; then
  ( CLRT_CMAKE_ARGS="-DCLRT_STATIC_LIBSTDCXX=ON" PYTHON=$PY JOBS=15 bash scripts/dev_build.sh $BD > $OUT/build.log 2>&1; echo "rc=$?" >> $OUT/build.log ) &
  BPID=$!
fi
if has harness; then
  g++ -O2 -std=c++17 benchmarks/tc_gemm_harness.cc -lOpenCL -o /tmp/tch || exit 1
  W="-DBM=64 -DBN=128 -DWARPS_M=4 -DWARPS_N=1 -DTC_WGMMA=1"
  Q="-DOUT_DT=2 -DRES_DT=2"
  P="-DPERSIST=1"
  # conv.tc_*_wgpp's GEMM: the ping-pong block on 64 x 128 tiles, a 6-tile ring.
  P6="-DBM=64 -DBN=128 -DWARPS_M=4 -DWARPS_N=1 -DTC_WGMMA=1 -DWG_ASYNC=1 -DKCH=8 -DEP_REG=1 -DPINGPONG=1 -DSTAGES=6"
  # ViT-B/16's GEMMs (FP16, half output, half residual where marked): today's 128 x 256 tile
  # against the ping-pong GEMM (a producer warpgroup, two consumers of 64 x 256 tiles; PP_REGS
  # moves registers to them).
  WB="-DBM=128 -DBN=256 -DWARPS_M=8 -DWARPS_N=1 -DTC_WGMMA=1 -DWG_ASYNC=1 -DKCH=8 -DSTAGES=4"
  PP="-DBM=64 -DBN=256 -DWARPS_M=4 -DWARPS_N=1 -DTC_WGMMA=1 -DWG_ASYNC=1 -DKCH=8 -DEP_REG=1 -DPINGPONG=1"
  {
  echo "== V1 qkv 12608x2304x768"
  timeout 60 /tmp/tch $K 0 12608 2304 768 20 "$WB" "$PP -DSTAGES=4" "$PP -DSTAGES=5" "$PP -DSTAGES=5 -DPP_REGS=1"
  echo "== V2 fc2 12608x768x3072 + res"
  timeout 60 /tmp/tch $K 0 12608 768 3072 20 "$WB -DRES_DT=1" "$PP -DSTAGES=5 -DRES_DT=1" "$PP -DSTAGES=5 -DPP_REGS=1 -DRES_DT=1"
  echo "== V3 out_proj 12608x768x768 + res"
  timeout 60 /tmp/tch $K 0 12608 768 768 20 "$WB -DRES_DT=1" "$PP -DSTAGES=5 -DRES_DT=1"
  echo "== V4 4096^3"
  timeout 60 /tmp/tch $K 0 4096 4096 4096 20 "$WB" "$PP -DSTAGES=5" "$PP -DSTAGES=5 -DPP_REGS=1"
  echo "== V5 INT8 4096^3"
  timeout 60 /tmp/tch $K 1 4096 4096 4096 20 "$WB" "$PP -DSTAGES=4" "$PP -DSTAGES=5 -DPP_REGS=1"
  } 2>&1 | grep -v "^$" | sed 's/-DWARPS_N=1 -DTC_WGMMA=1 -DWG_ASYNC=1//' | tee $OUT/pingpong.txt
  el pingpong done
  {
  echo "== S1 layer1 conv3 200704x256x64 + res"
  timeout 60 /tmp/tch $K 1 200704 256 64 20 "$W -DKCH=4 -DSTAGES=3 -DRES_STAGE=1 $Q" \
    "$W -DKCH=4 -DSTAGES=4 $P -DNKP=1 -DEP_ROWS=64 -DRES_STAGE=1 $Q -DPS_BLOCKS=264" \
    "$W -DKCH=4 -DSTAGES=4 $P -DNKP=1 -DEP_ROWS=64 -DRES_STAGE=1 $Q -DPS_BLOCKS=132" "$P6 $Q"
  echo "== S2 layer1 conv1 200704x64x256"
  timeout 60 /tmp/tch $K 1 200704 64 256 20 "-DBM=128 -DBN=64 -DWARPS_M=8 -DWARPS_N=1 -DTC_WGMMA=1 -DKCH=8 -DSTAGES=3 -DOUT_DT=2" \
    "$W -DKCH=8 -DSTAGES=3 $P -DNKP=2 -DEP_ROWS=32 -DOUT_DT=2 -DPS_BLOCKS=264" \
    "-DBM=64 -DBN=64 -DWARPS_M=4 -DWARPS_N=1 -DTC_WGMMA=1 -DKCH=8 -DSTAGES=4 $P -DNKP=2 -DEP_ROWS=64 -DOUT_DT=2 -DPS_BLOCKS=264" \
    "$P6 -DOUT_DT=2"
  echo "== S4 layer2 conv3 50176x512x128 + res"
  timeout 60 /tmp/tch $K 1 50176 512 128 20 "$W -DKCH=8 -DSTAGES=3 $Q" \
    "$W -DKCH=8 -DSTAGES=3 $P -DNKP=1 -DEP_ROWS=64 -DRES_STAGE=1 $Q -DPS_BLOCKS=264" "$P6 $Q"
  echo "== S5 layer3 conv3 12544x1024x256 + res"
  timeout 60 /tmp/tch $K 1 12544 1024 256 20 "$W -DKCH=8 -DSTAGES=3 $Q" \
    "$W -DKCH=8 -DSTAGES=2 $P -DNKP=2 -DEP_ROWS=32 -DRES_STAGE=1 $Q -DPS_BLOCKS=264" "$P6 $Q"
  } 2>&1 | grep -v "^$" | sed 's/-DWARPS_N=1 -DTC_WGMMA=1//' | tee $OUT/harness.txt
  el harness done
fi
if [ -n "$BPID" ]; then wait $BPID; tail -2 $OUT/build.log; el built; grep -q "rc=0" $OUT/build.log || exit 1; fi
export PYTHONPATH=$BD/stage
if has tests; then
  timeout 240 $PY -m pytest -q -p no:cacheprovider tests/device/test_tc_pingpong.py tests/device/test_tc_persist.py 2>&1 | tail -4 | tee $OUT/pytest.txt; el tests
fi
B="--models vit_b_16 --batches 64 --torch-modes compile-fp16 --rounds 2 --iters 20 --timing-cache /tmp/tc_vit.bin"
if has vit; then
  timeout 280 $PY benchmarks/bench_torch.py $B --precisions fp16 2>&1 | tee $OUT/vit.txt | tail -8; el vit
fi
if has vitpp; then
  CLRT_TC_PINGPONG=0 timeout 280 $PY benchmarks/bench_torch.py $B --precisions fp16 --no-torch 2>&1 | tee $OUT/vit_nopp.txt | tail -6; el vit without ping-pong
fi
if has vit8; then
  timeout 280 $PY benchmarks/bench_torch.py $B --precisions int8 --no-torch 2>&1 | tee $OUT/vit_int8.txt | tail -6; el vit int8
fi
if has resnet; then
  CLRT_TC_PINGPONG=1 timeout 250 $PY benchmarks/bench_torch.py --models resnet50 --batches 64 --precisions int8 --torch-modes compile-fp16 --rounds 2 --iters 20 --timing-cache /tmp/tc.bin 2>&1 | tee $OUT/resnet.txt | tail -10
  el resnet
  mkdir -p /tmp/m && timeout 60 $PY benchmarks/bench_torch.py --models resnet50 --batches 64 --export-to /tmp/m > $OUT/export.log 2>&1 || { tail $OUT/export.log; exit 1; }
  CLRT_TC_PINGPONG=1 timeout 120 $PY -m clrt.clrtexec --onnx=/tmp/m/resnet50_b64.onnx --int8 --fp16 --separateProfileRun --dumpProfile --iterations=20 --timingCacheFile=/tmp/tc.bin > $OUT/prof.txt 2>&1
  grep -iE "GPU Compute" $OUT/prof.txt | head -3; echo "wgp / wgpp layers: $(grep -c 'tc_int8_wgp ' $OUT/prof.txt) / $(grep -c 'tc_int8_wgpp' $OUT/prof.txt)"; el profiled
fi
el done
