#!/usr/bin/env bash
# On the lent GPU machine (carry .device, see README "GPU machine"), the experiments waiting for a
# GPU, in steps named on the command line, e.g. `bash benchmarks/tc_lease.sh harness build tests`
# then `bash benchmarks/tc_lease.sh vit resnet` on the same warm machine (a call may run 10
# minutes; the build is kept in build/gpu between calls). Results go to $OUT.
#   harness  4096^3 and ViT-B/16's GEMMs (FP16, INT8) on the ping-pong GEMM's two forms
#            (tc_pingpong.clh) against today's 128 x 256 tile, then ResNet-50's 64-channel 1x1
#            GEMMs on the 64 x 64 persistent tile; the harness checks each against its host
#            reference
#   build    clrt into build/gpu (in the background while the harness runs when both are named)
#   tests    the ping-pong, persistent, attention-fusion, tensor-core attention (its INT8 output
#            too) and INT8 LayerNorm tests, natively
#   pptests  the ping-pong and INT8 LayerNorm tests alone
#   resnet1  ResNet-50 b64 INT8 beside torch.compile alone
#   vit      bench_torch ViT-B/16 b64 FP16 beside torch.compile FP16
#   vitpp    the same FP16 engine without the ping-pong tactics (CLRT_TC_PINGPONG=0)
#   vit8     ViT-B/16 b64 INT8
#   resnet   bench_torch ResNet-50 b64 INT8 beside torch.compile, again without the persistent
#            1x1 GEMM (CLRT_TC_PERSIST=0), and a clrtexec profile
#   vit8prof a clrtexec profile of ViT-B/16 INT8 with placeholder ranges
# Written in sessions 33-36 (the first two without a GPU).
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
  # The ping-pong block (tc_pingpong.clh) against today's 128 x 256 tile (WB): its 64 x 128 /
  # ring 6 (matmul.tc_*_pp) and 64 x 256 / ring 4 (_pp256) forms. Harness rows: FP16 with half
  # output (a half residual where marked), INT8 with FP32 output.
  WB="-DBM=128 -DBN=256 -DWARPS_M=8 -DWARPS_N=1 -DTC_WGMMA=1 -DWG_ASYNC=1 -DKCH=8 -DSTAGES=4"
  PP="-DWARPS_M=4 -DWARPS_N=1 -DTC_WGMMA=1 -DWG_ASYNC=1 -DKCH=8 -DEP_REG=1 -DPINGPONG=1"
  P6="$PP -DBM=64 -DBN=128 -DSTAGES=6"
  P4="$PP -DBM=64 -DBN=256 -DSTAGES=4"
  {
  for mode in 0 1; do
    echo "== mode $mode (0 FP16, 1 INT8): 4096^3"
    timeout 60 /tmp/tch $K $mode 4096 4096 4096 20 "$WB" "$P4" "$P6"
  done
  for mode in 0 1; do
    R="-DRES_DT=1"; [ $mode = 1 ] && R=""  # (the harness's INT8 rows write FP32 or INT8)
    echo "== mode $mode: qkv 12608x2304x768, fc1 12608x3072x768, fc2 12608x768x3072 (+ res in FP16), out_proj 12608x768x768 (+ res)"
    timeout 40 /tmp/tch $K $mode 12608 2304 768 20 "$WB" "$P6" "$P4"
    timeout 40 /tmp/tch $K $mode 12608 3072 768 20 "$WB" "$P6" "$P4"
    timeout 40 /tmp/tch $K $mode 12608 768 3072 20 "$WB $R" "$P6 $R" "$P4 $R"
    timeout 40 /tmp/tch $K $mode 12608 768 768 20 "$WB $R" "$P6 $R"
  done
  } 2>&1 | grep -v "^$" | sed 's/-DWARPS_N=1 -DTC_WGMMA=1 -DWG_ASYNC=1//' | tee $OUT/pingpong.txt
  el pingpong done
  # ResNet-50's 64-channel 1x1 layers: today's 128 x 64 tile against the 64 x 64 persistent one
  # conv.tc_int8_wgp now runs them on (INT8 output).
  {
  echo "== layer1 conv1 200704x64x256, first block's 200704x64x64"
  timeout 40 /tmp/tch $K 1 200704 64 256 20 "-DBM=128 -DBN=64 -DWARPS_M=8 -DWARPS_N=1 -DTC_WGMMA=1 -DKCH=8 -DSTAGES=3 -DOUT_DT=2" \
    "-DBM=64 -DBN=64 -DWARPS_M=4 -DWARPS_N=1 -DTC_WGMMA=1 -DKCH=8 -DSTAGES=4 $P -DNKP=2 -DEP_ROWS=64 -DOUT_DT=2 -DPS_BLOCKS=264"
  timeout 40 /tmp/tch $K 1 200704 64 64 20 "-DBM=128 -DBN=64 -DWARPS_M=8 -DWARPS_N=1 -DTC_WGMMA=1 -DKCH=4 -DSTAGES=3 -DOUT_DT=2" \
    "-DBM=64 -DBN=64 -DWARPS_M=4 -DWARPS_N=1 -DTC_WGMMA=1 -DKCH=4 -DSTAGES=4 $P -DNKP=1 -DEP_ROWS=64 -DOUT_DT=2 -DPS_BLOCKS=264"
  } 2>&1 | grep -v "^$" | sed 's/-DWARPS_N=1 -DTC_WGMMA=1//' | tee $OUT/harness.txt
  el harness done
fi
if [ -n "$BPID" ]; then wait $BPID; tail -2 $OUT/build.log; el built; grep -q "rc=0" $OUT/build.log || exit 1; fi
export PYTHONPATH=$BD/stage
if has tests; then
  timeout 240 $PY -m pytest -q -p no:cacheprovider tests/device/test_tc_pingpong.py tests/device/test_tc_persist.py tests/device/test_fused_attention.py tests/device/test_layernorm_int8.py tests/device/test_tc_attention.py 2>&1 | tail -4 | tee $OUT/pytest.txt; el tests
fi
if has pptests; then  # the ping-pong tactics and the INT8 LayerNorm alone (about 30 s)
  timeout 120 $PY -m pytest -q -p no:cacheprovider tests/device/test_tc_pingpong.py tests/device/test_layernorm_int8.py 2>&1 | tail -4 | tee $OUT/pytest.txt; el pptests
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
if has resnet1; then  # bench_torch beside torch.compile only
  timeout 200 $PY benchmarks/bench_torch.py --models resnet50 --batches 64 --precisions int8 --rounds 2 --iters 20 --torch-modes compile-fp16 --timing-cache /tmp/tc.bin 2>&1 | tee $OUT/resnet.txt | tail -8; el resnet1
fi
if has resnet; then
  R="--models resnet50 --batches 64 --precisions int8 --rounds 2 --iters 20"
  timeout 200 $PY benchmarks/bench_torch.py $R --torch-modes compile-fp16 --timing-cache /tmp/tc.bin 2>&1 | tee $OUT/resnet.txt | tail -8
  CLRT_TC_PERSIST=0 timeout 120 $PY benchmarks/bench_torch.py $R --no-torch --timing-cache /tmp/tc0.bin 2>&1 | tee $OUT/resnet_nopersist.txt | tail -5
  el resnet
  mkdir -p /tmp/m && timeout 60 $PY benchmarks/bench_torch.py --models resnet50 --batches 64 --export-to /tmp/m > $OUT/export.log 2>&1 || { tail $OUT/export.log; exit 1; }
  timeout 120 $PY -m clrt.clrtexec --onnx=/tmp/m/resnet50_b64.onnx --int8 --fp16 --separateProfileRun --dumpProfile --iterations=20 --timingCacheFile=/tmp/tc.bin > $OUT/prof.txt 2>&1
  grep -iE "GPU Compute" $OUT/prof.txt | head -3; echo "wgp layers: $(grep -c 'tc_int8_wgp' $OUT/prof.txt)"; el profiled
fi
if has vit8prof; then
  # clrtexec's placeholder ranges: the attention fused since session 35 (25.6 ms before).
  mkdir -p /tmp/m && timeout 60 $PY benchmarks/bench_torch.py --models vit_b_16 --batches 64 --export-to /tmp/m > $OUT/export_vit.log 2>&1
  timeout 150 $PY -m clrt.clrtexec --onnx=/tmp/m/vit_b_16_b64.onnx --int8 --fp16 --separateProfileRun --dumpProfile --iterations=20 > $OUT/vit8_prof.txt 2>&1
  grep -iE "GPU Compute" $OUT/vit8_prof.txt | head -2; echo "ATTENTION layers: $(grep -c 'attention\.' $OUT/vit8_prof.txt)"; el vit8 profiled
fi
el done
